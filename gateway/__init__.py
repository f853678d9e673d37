"""The gateway: an Envoy-style proxy with proxy-wasm plugins."""

__version__ = "0.1.0"
