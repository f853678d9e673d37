"""The extension registry: which parser reads a ``typed_config``.

As in Envoy, the type URL of ``typed_config`` (``type.googleapis.com/<message>``) decides the extension; the
``name`` is only used when there is no ``typed_config``, and then the extension reads an empty config. An
extension is registered under its message type and its names (old names included) for one category, so an HTTP
filter's type cannot configure a network filter. The built-ins are registered by ``gateway.config.extensions``; a
new extension is a parser over ``Fields`` (see ``fields.py``) plus one ``REGISTRY.register`` call there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from gateway.config.fields import Fields, Invalid

# The typed-struct wrappers xDS uses for configs whose proto is unknown to the sender.
_TYPED_STRUCTS = frozenset({"udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"})


class Category(Enum):
    NETWORK_FILTER = "network filter"
    HTTP_FILTER = "HTTP filter"
    ACCESS_LOGGER = "access logger"
    BOOTSTRAP_EXTENSION = "bootstrap extension"
    PROTOCOL_OPTIONS = "protocol options"


@dataclass(frozen=True, slots=True)
class Extension:
    category: Category
    type_name: str  # full proto message name, e.g. envoy.extensions.filters.http.router.v3.Router
    names: tuple[str, ...]  # canonical name first, then older aliases
    parse: Callable[[Fields], object]


class Registry:
    def __init__(self) -> None:
        self._by_type: dict[str, Extension] = {}
        self._by_name: dict[tuple[Category, str], Extension] = {}

    def register(self, extension: Extension) -> None:
        if extension.type_name in self._by_type:
            raise ValueError(f"extension type {extension.type_name} registered twice")
        self._by_type[extension.type_name] = extension
        for name in extension.names:
            self._by_name[(extension.category, name)] = extension

    def by_type(self, type_name: str) -> Extension | None:
        return self._by_type.get(type_name)

    def by_name(self, category: Category, name: str) -> Extension | None:
        return self._by_name.get((category, name))

    def knows(self, typed_config: Mapping[str, object] | None, category: Category, name: str) -> bool:
        """Whether the extension a ``typed_config`` (or, without one, a ``name``) selects exists."""
        if typed_config is None:
            return self.by_name(category, name) is not None
        type_url = typed_config.get("@type")
        extension = self.by_type(type_url.rsplit("/", 1)[-1]) if isinstance(type_url, str) else None
        return extension is not None and extension.category is category

    def parse_typed_config(self, f: Fields, category: Category, name: str) -> object | None:
        """Read ``f``'s ``typed_config`` (an Any) as the extension it names; None when that is impossible (the
        fault is recorded). Without a typed_config, ``name`` selects the extension."""
        if not f.has("typed_config"):
            f.raw("typed_config")  # a null typed_config is the same as none
            by_name = self.by_name(category, name)
            if by_name is None:
                f.error("name", f"unknown {category.value} {name!r}")
                return None
            return f.ctx.parse({}, f.at("typed_config"), by_name.parse)
        return f.message("typed_config", lambda any_: self.parse_any(any_, category))

    def parse_any(self, f: Fields, category: Category) -> object:
        """Read a ``google.protobuf.Any`` whose ``@type`` must be an extension of ``category``."""
        type_url = f.string("@type", required=True)
        if not type_url:
            f.ignore_rest()
            raise Invalid
        type_name = type_url.rsplit("/", 1)[-1]
        extension = self.by_type(type_name)
        if extension is None or extension.category is not category:
            if type_name in _TYPED_STRUCTS:
                f.error("@type", f"{type_name}: not supported")
            elif extension is None:
                f.error("@type", f"unknown {category.value} type {type_name!r}")
            else:
                f.error("@type", f"{type_name} is {_a(extension.category)}, not {_a(category)}")
            f.ignore_rest()
            raise Invalid
        return extension.parse(f)


def _a(category: Category) -> str:
    article = "an" if category.value[0] in "aeiouH" else "a"  # "an HTTP filter", "an access logger"
    return f"{article} {category.value}"


REGISTRY = Registry()
