"""Which hooks a filter class overrides, found once per class.

``HttpFilter``'s defaults pass everything through and do nothing, so a stream can skip calling them: a filter that
decodes nothing needs no place in the decode chain, and one whose ``on_log`` is the default needs no call at the
end of the stream. Skipping a default hook changes nothing but the cost.
"""

from __future__ import annotations

from typing import Final

from gateway.filters.api import HttpFilter

DECODES: Final = 1
ENCODES: Final = 2
COMPLETES: Final = 4  # on_stream_complete
LOGS: Final = 8  # on_log
DESTROYS: Final = 16  # on_destroy

_GROUPS: Final = (
    (DECODES, ("decode_headers", "decode_data", "decode_trailers")),
    (ENCODES, ("encode_headers", "encode_data", "encode_trailers")),
    (COMPLETES, ("on_stream_complete",)),
    (LOGS, ("on_log",)),
    (DESTROYS, ("on_destroy",)),
)

_by_class: Final[dict[type, int]] = {}


def hooks_of(f: HttpFilter) -> int:
    """The bits above for the hooks ``f``'s class overrides."""
    cls = type(f)
    mask = _by_class.get(cls)
    if mask is None:
        mask = 0
        for bit, names in _GROUPS:
            if any(getattr(cls, name) is not getattr(HttpFilter, name) for name in names):
                mask |= bit
        _by_class[cls] = mask
    return mask
