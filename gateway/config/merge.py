"""``--config-yaml`` over ``-c``: protobuf's MergeFrom on the parsed documents.

Messages merge field by field (recursively), repeated fields append, scalars replace. A field written in
snake_case on one side and lowerCamelCase on the other is the same field. Two differences from protobuf, both
harmless for configs: map fields (and Struct) merge their values recursively instead of replacing them per key,
and an Any whose ``@type`` changes is replaced whole.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.config.paths import canonical


def merge(base: object, overlay: object) -> object:
    if overlay is None:  # a JSON null sets nothing
        return base
    if isinstance(base, Mapping) and isinstance(overlay, Mapping):
        if "@type" in base and "@type" in overlay and base["@type"] != overlay["@type"]:
            return overlay
        merged = dict(base)
        spelled = {canonical(k): k for k in merged if isinstance(k, str)}
        for key, value in overlay.items():
            target = spelled.get(canonical(key), key) if isinstance(key, str) else key
            merged[target] = merge(merged[target], value) if target in merged else value
        return merged
    if isinstance(base, list) and isinstance(overlay, list):
        return [*base, *overlay]
    return overlay
