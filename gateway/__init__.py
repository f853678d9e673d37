"""The gateway: an Envoy-style proxy with proxy-wasm plugins."""

from gateway import native

__version__ = "0.1.0"

# Before any other gateway module is imported: the compiled hot path, when its build matches the sources.
native.install()
