"""``*_headers_to_add`` / ``*_headers_to_remove`` of one config level, compiled (Envoy's HeaderParser).

Applying one level, as Envoy does: remove its names first; then evaluate every value (formatters see the headers
as they were before this level wrote anything); then overwrite, then append. An empty value is skipped unless
``keep_empty_value``. Levels are applied one after another, so the level applied last wins an overwrite: by
default route, then virtual host, then route configuration (the least specific wins);
``most_specific_header_mutations_wins`` reverses that. A weighted cluster's own level comes before all three.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from gateway.config.model import HeaderAppendAction, HeaderValueOption
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo
from gateway.formatter import compile_format

_APPEND: Final = HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD
_IF_ABSENT: Final = HeaderAppendAction.ADD_IF_ABSENT
_IF_EXISTS: Final = HeaderAppendAction.OVERWRITE_IF_EXISTS


class _Add:
    __slots__ = ("name", "constant", "formatter", "action", "keep_empty")

    def __init__(self, option: HeaderValueOption) -> None:
        self.name = checked_name(option.header.key)
        self.formatter = compile_format(option.header.value, omit_empty_values=True)
        constant = self.formatter.constant
        # Pre-encoded once: most values are plain text.
        self.constant = constant.encode("utf-8", "surrogateescape") if constant is not None else None
        self.action = option.append_action
        self.keep_empty = option.keep_empty_value


def checked_name(name: str) -> bytes:
    """Envoy refuses to add or remove pseudo-headers and ``host`` through header mutations."""
    lowered = name.lower()
    if not lowered or lowered.startswith(":") or lowered == "host":
        raise ValueError(f"header {name!r} cannot be added or removed by a header mutation")
    return lowered.encode()


class HeaderMutation:
    __slots__ = ("_removes", "_adds")

    def __init__(self, adds: Sequence[HeaderValueOption], removes: Sequence[str]) -> None:
        self._removes = tuple(checked_name(name) for name in removes)
        self._adds = tuple(_Add(option) for option in adds)

    def __bool__(self) -> bool:
        return bool(self._removes or self._adds)

    def apply(self, headers: HeaderMap, info: StreamInfo) -> None:
        for name in self._removes:
            headers.remove(name)
        if not self._adds:
            return
        overwrite: list[tuple[bytes, bytes]] = []
        append: list[tuple[bytes, bytes]] = []
        for add in self._adds:
            value = add.constant
            if value is None:
                value = add.formatter.format(info).encode("utf-8", "surrogateescape")
            if not value and not add.keep_empty:
                continue
            action = add.action
            if action is _APPEND:
                append.append((add.name, value))
            elif action is _IF_ABSENT:
                if add.name not in headers:
                    append.append((add.name, value))
            elif action is not _IF_EXISTS or add.name in headers:
                overwrite.append((add.name, value))
        for name, value in overwrite:
            headers.set(name, value)
        for name, value in append:
            headers.add(name, value)
