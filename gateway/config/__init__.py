"""Envoy v3 config in, frozen dataclasses out.

``load_bootstrap(path, overlay_yaml)`` and ``loads(text)`` return a ``Bootstrap`` (see ``gateway.config.model``)
or raise ``ConfigErrors`` listing every fault with its YAML path. Extensions are looked up in ``REGISTRY``.
"""

from gateway.config.errors import ConfigErrors
from gateway.config.loader import build, load_bootstrap, loads
from gateway.config.model import Bootstrap
from gateway.config.registry import REGISTRY, Category, Extension

__all__ = ["REGISTRY", "Bootstrap", "Category", "ConfigErrors", "Extension", "build", "load_bootstrap", "loads"]
