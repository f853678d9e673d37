"""Envoy's ``safe_regex`` patterns are RE2; we run them on Python's ``re``.

The two agree on the common syntax. The differences we handle: RE2 has no look-around, back-references,
atomic groups or possessive quantifiers (Python has; such patterns are rejected, as Envoy would reject them), and
RE2's ``\\z`` and ``(?<name>...)`` are spelled ``\\Z`` and ``(?P<name>...)`` in Python (translated). Left as known
differences: RE2's ``\\pN`` classes, ``[[:alpha:]]`` and ``\\C`` fail in Python and are reported as invalid, and
RE2 matches in linear time where Python may backtrack.
"""

from __future__ import annotations

import re

# RE2 rejects these; each entry is (the opening as written, what to call it).
_UNSUPPORTED_GROUPS = (
    ("(?=", "look-ahead"),
    ("(?!", "look-ahead"),
    ("(?<=", "look-behind"),
    ("(?<!", "look-behind"),
    ("(?P=", "back-reference"),
    ("(?>", "atomic group"),
)


def compile_re2(pattern: str) -> re.Pattern[str]:
    """Compile an RE2 pattern with Python's ``re``; ValueError says why it is not acceptable."""
    try:
        return re.compile(_translate(pattern))
    except re.error as e:
        raise ValueError(f"invalid regex {pattern!r}: {e.msg}") from None


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if not in_class and nxt.isdigit() and nxt != "0":
                raise ValueError(f"invalid regex {pattern!r}: back-references are not supported by RE2")
            out.append("\\Z" if nxt == "z" and not in_class else c + nxt)
            i += 2
            continue
        if in_class:
            in_class = c != "]" or (out[-1] == "[" or out[-1] == "[^")
        elif c == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 2
                continue
        elif c == "(":
            for opening, what in _UNSUPPORTED_GROUPS:
                if pattern.startswith(opening, i):
                    raise ValueError(f"invalid regex {pattern!r}: {what} is not supported by RE2")
            if pattern.startswith("(?<", i):
                out.append("(?P<")
                i += 3
                continue
        elif c in "+*?}" and pattern.startswith("+", i + 1):
            raise ValueError(f"invalid regex {pattern!r}: possessive quantifiers are not supported by RE2")
        out.append(c)
        i += 1
    return "".join(out)
