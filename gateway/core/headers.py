"""Header maps as every layer sees them: an ordered list of (name, value) byte pairs.

Names are lowercase bytes; request maps carry HTTP/2-style pseudo-headers first (``:method``, ``:scheme``,
``:authority``, ``:path``; ``:protocol`` for extended CONNECT) and response maps carry ``:status``. HTTP/1.1 and
HTTP/2 codecs both produce this shape, so filters and proxy-wasm plugins never know which protocol carried a
request. Values are kept as the peer sent them (minus surrounding whitespace, as the codecs strip it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

Pair = tuple[bytes, bytes]


class HeaderMap:
    """An ordered multimap of lowercase byte names to byte values.

    Lookups are linear: real requests carry a few dozen headers, where a scan beats maintaining an index.
    """

    __slots__ = ("_pairs",)

    def __init__(self, pairs: Iterable[Pair] = ()) -> None:
        self._pairs: list[Pair] = list(pairs)

    @staticmethod
    def from_list(pairs: list[Pair]) -> HeaderMap:
        """Adopt ``pairs`` without copying (the caller hands over ownership)."""
        hm = HeaderMap()
        hm._pairs = pairs
        return hm

    def get(self, name: bytes) -> bytes | None:
        """The first value of ``name``, or None."""
        for k, v in self._pairs:
            if k == name:
                return v
        return None

    def get_all(self, name: bytes) -> list[bytes]:
        return [v for k, v in self._pairs if k == name]

    def joined(self, name: bytes) -> bytes | None:
        """All values of ``name`` joined with commas, as RFC 9110 combines repeated fields; None when absent."""
        values = self.get_all(name)
        return b",".join(values) if values else None

    def __contains__(self, name: object) -> bool:
        # A plain loop: any() over a generator costs twice as much on this per-request path.
        for k, _ in self._pairs:  # noqa: SIM110
            if k == name:
                return True
        return False

    def add(self, name: bytes, value: bytes) -> None:
        """Append a value; pseudo-headers stay ahead of regular ones."""
        if name[:1] == b":":
            index = 0
            while index < len(self._pairs) and self._pairs[index][0][:1] == b":":
                index += 1
            self._pairs.insert(index, (name, value))
        else:
            self._pairs.append((name, value))

    def set(self, name: bytes, value: bytes) -> None:
        """Replace the first value of ``name`` in place and drop the others; append when absent."""
        pairs = self._pairs
        i = 0
        for k, _ in pairs:  # a counter beats enumerate(): no index tuple per header
            if k == name:
                break
            i += 1
        else:
            if name[:1] == b":":
                self.add(name, value)  # keeps pseudo-headers ahead of regular ones
            else:
                pairs.append((name, value))
            return
        pairs[i] = (name, value)
        # Drop later duplicates in place: others (the Wasm host) may hold this very list.
        j = i + 1
        while j < len(pairs):
            if pairs[j][0] == name:
                del pairs[j]
            else:
                j += 1

    def remove(self, name: bytes) -> int:
        """Remove every value of ``name``; returns how many were removed."""
        pairs = self._pairs
        before = len(pairs)
        pairs[:] = [p for p in pairs if p[0] != name]
        return before - len(pairs)

    def pairs(self) -> list[Pair]:
        """The underlying list (mutations through it are visible): for codecs and the wasm host."""
        return self._pairs

    def replace_all(self, pairs: list[Pair]) -> None:
        """Replace the contents in place (the list object stays the same, for those who hold it)."""
        self._pairs[:] = pairs

    def copy(self) -> HeaderMap:
        return HeaderMap.from_list(list(self._pairs))

    def byte_size(self) -> int:
        """Bytes of names and values, as Envoy counts them against ``max_request_headers_kb``."""
        return sum(len(k) + len(v) for k, v in self._pairs)

    def __iter__(self) -> Iterator[Pair]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HeaderMap) and other._pairs == self._pairs

    def __repr__(self) -> str:
        return f"HeaderMap({self._pairs!r})"

    # Pseudo-header shortcuts: the hot path reads these on every request.
    @property
    def method(self) -> bytes | None:
        return self.get(b":method")

    @property
    def path(self) -> bytes | None:
        return self.get(b":path")

    @property
    def authority(self) -> bytes | None:
        return self.get(b":authority")

    @property
    def status(self) -> int | None:
        pairs = self._pairs
        # Read several times per response: the codecs put :status first, and the usual codes are a dict away.
        raw = pairs[0][1] if pairs and pairs[0][0] == b":status" else self.get(b":status")
        if raw is None:
            return None
        code = _STATUS_CODES.get(raw)
        if code is not None:
            return code
        return int(raw) if raw.isdigit() else None


_STATUS_CODES: Final = {b"%d" % code: code for code in range(100, 600)}
