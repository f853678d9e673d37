"""``%START_TIME(fmt)%``: strftime in UTC plus Envoy's extra specifiers.

Extras: ``%s`` (seconds since the epoch), ``%f`` / ``%1f``..``%9f`` (fractional seconds, 9 digits by default) and
``%E1S``..``%E9S`` (seconds with that many fractional digits). The strftime pieces only change once a second, so
they are rendered once per second and cached; a request then only pays for the fractional digits.
"""

from __future__ import annotations

import re
import time

DEFAULT = "%Y-%m-%dT%H:%M:%E3SZ"  # 2016-12-06T23:53:34.284Z, Envoy's default

# Envoy's additions, and %% so that an escaped percent is never taken for the start of one of them.
_SPECIAL = re.compile(r"%%|%s|%([1-9]?)f|%E([0-9])S")


class StartTimeFormat:
    __slots__ = ("_pieces", "_cache")

    def __init__(self, fmt: str) -> None:
        # A piece is strftime text (str) or a count of fractional digits (int); "%s" becomes a sentinel -1.
        pieces: list[str | int] = []
        pos = 0
        for m in _SPECIAL.finditer(fmt):
            token = m.group(0)
            if token == "%%":
                continue  # left inside the strftime text
            pieces.append(fmt[pos : m.start()])
            if token == "%s":
                pieces.append(-1)
            elif token.endswith("f"):
                pieces.append(int(m.group(1) or 9))
            else:
                digits = int(m.group(2))
                pieces.append("%S." if digits else "%S")
                if digits:
                    pieces.append(digits)
            pos = m.end()
        pieces.append(fmt[pos:])
        self._pieces = [p for p in pieces if p != ""]
        self._cache: tuple[int, list[str | int]] = (-1, [])
        self(0.0)  # a format strftime rejects fails here, at config time

    def __call__(self, t: float) -> str:
        sec = int(t)
        cached_sec, rendered = self._cache
        if cached_sec != sec:
            tm = time.gmtime(sec)
            rendered = [
                (time.strftime(p, tm) if isinstance(p, str) else str(sec) if p == -1 else p) for p in self._pieces
            ]
            self._cache = (sec, rendered)
        fraction = ""
        out = []
        for p in rendered:
            if isinstance(p, str):
                out.append(p)
            else:
                if not fraction:
                    fraction = f"{min(int((t - sec) * 1e9), 999_999_999):09d}"
                out.append(fraction[:p])
        return "".join(out)
