"""Split an Envoy format string into literal text and ``%COMMAND(arg):N%`` operators.

Grammar, as Envoy's: ``%%`` is a literal ``%``; a command is ``%NAME%``, ``%NAME(arg)%`` or ``%NAME(arg):N%``
where NAME is ``[A-Z0-9_]+``, ``arg`` runs to the first ``)`` (so ``%START_TIME(%Y/%m)%`` works) and ``N`` caps the
length of the value. Any other ``%`` is an error that says where it is.
"""

from __future__ import annotations

from dataclasses import dataclass

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    arg: str | None  # None when there were no parentheses
    max_length: int | None
    text: str  # the operator as written, for error messages


def parse(template: str) -> list[str | Command]:
    """Literal runs (merged, never empty) and commands in template order; raises ValueError naming the position."""
    parts: list[str | Command] = []
    literal: list[str] = []
    i, n = 0, len(template)
    while i < n:
        pct = template.find("%", i)
        if pct < 0:
            literal.append(template[i:])
            break
        literal.append(template[i:pct])
        if template.startswith("%%", pct):
            literal.append("%")
            i = pct + 2
            continue
        command, i = _parse_command(template, pct)
        _flush(literal, parts)
        parts.append(command)
    _flush(literal, parts)
    return parts


def _flush(literal: list[str], parts: list[str | Command]) -> None:
    text = "".join(literal)
    literal.clear()
    if text:
        parts.append(text)


def _parse_command(template: str, start: int) -> tuple[Command, int]:
    n = len(template)
    j = start + 1
    while j < n and template[j] in _NAME_CHARS:
        j += 1
    name = template[start + 1 : j]
    if not name:
        raise ValueError(f"no command name after '%' at position {start}")
    arg: str | None = None
    if j < n and template[j] == "(":
        close = template.find(")", j)
        if close < 0:
            raise ValueError(f"unterminated '(' in %{name} at position {start}")
        arg = template[j + 1 : close]
        j = close + 1
    max_length: int | None = None
    if j < n and template[j] == ":":
        k = j + 1
        while k < n and template[k].isdigit():
            k += 1
        if k == j + 1:
            raise ValueError(f"expected a length after ':' in %{name} at position {start}")
        max_length = int(template[j + 1 : k])
        j = k
    if j >= n or template[j] != "%":
        raise ValueError(f"command %{name} at position {start} is not closed by '%'")
    return Command(name, arg, max_length, template[start : j + 1]), j + 1
