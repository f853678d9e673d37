"""Compiled format strings: a list of literal text and providers, walked once per request.

Everything is decided at config time: the template is parsed, each command resolved to a provider and
stream-independent values (``%HOSTNAME%``, ``%ENVIRONMENT(X)%``) folded into the literal text, so that ``format``
is a single loop over the parts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from gateway.core.stream_info import StreamInfo
from gateway.formatter.commands import Provider, Value, compile_command
from gateway.formatter.parser import parse

# Envoy's default access log line (it ends with a newline, as every format string must).
DEFAULT_FORMAT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" '
    '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n'
)


class Formatter:
    """A compiled text format. ``constant`` is its text when no part depends on the stream, else None."""

    __slots__ = ("template", "constant", "_parts", "_missing", "_single")

    def __init__(self, template: str, omit_empty_values: bool = False) -> None:
        self.template = template
        try:
            self._parts = _merge_literals(_compile_parts(template, omit_empty_values))
        except ValueError as exc:
            raise ValueError(f"invalid format {template!r}: {exc}") from None
        # Envoy prints "-" for a value that is not set; header mutations ask for "" instead (omit_empty_values).
        self._missing = "" if omit_empty_values else "-"
        self._single: Provider | None = self._parts[0] if len(self._parts) == 1 and callable(self._parts[0]) else None
        self.constant: str | None = None
        if all(isinstance(p, str) for p in self._parts):
            self.constant = "".join(p for p in self._parts if isinstance(p, str))

    @property
    def is_constant(self) -> bool:
        return self.constant is not None

    def __repr__(self) -> str:
        return f"Formatter({self.template!r})"

    def format(self, info: StreamInfo) -> str:
        if self.constant is not None:
            return self.constant
        missing = self._missing
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = part(info)
            if value is None or value == "":
                out.append(missing)
            else:
                out.append(value if isinstance(value, str) else str(value))
        return "".join(out)

    def typed_value(self, info: StreamInfo) -> Value:
        """For JSON: a template that is exactly one command keeps its type (number, or None when not set)."""
        if self._single is not None:
            return self._single(info)
        return self.format(info)


def _compile_parts(template: str, omit_empty_values: bool) -> list[str | Provider]:
    parts: list[str | Provider] = []
    for item in parse(template):
        if isinstance(item, str):
            parts.append(item)
            continue
        compiled = compile_command(item)
        if compiled.provider is not None:
            parts.append(compiled.provider)
        elif compiled.value is None or compiled.value == "":
            parts.append("" if omit_empty_values else "-")
        else:
            parts.append(str(compiled.value))
    return parts


def _merge_literals(parts: list[str | Provider]) -> list[str | Provider]:
    merged: list[str | Provider] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] += part
                continue
        merged.append(part)
    return merged


class JsonFormatter:
    """A compiled ``json_format``: nested objects and lists of format strings and literal values, one JSON line."""

    __slots__ = ("_build",)

    def __init__(self, spec: Mapping[str, Any], omit_empty_values: bool = False) -> None:
        if not isinstance(spec, Mapping):
            raise ValueError(f"json_format must be an object, got {type(spec).__name__}")
        self._build = _compile_node(spec, "", omit_empty_values)

    def format_value(self, info: StreamInfo) -> dict[str, Any]:
        value = self._build(info)
        assert isinstance(value, dict)
        return value

    def format(self, info: StreamInfo) -> str:
        """The JSON object on one line, newline-terminated as Envoy writes it."""
        return json.dumps(self._build(info), ensure_ascii=False, separators=(",", ":")) + "\n"


Node = Callable[[StreamInfo], Any]


def _compile_node(node: Any, path: str, omit_empty: bool) -> Node:
    if isinstance(node, str):
        try:
            formatter = Formatter(node, omit_empty)
        except ValueError as exc:
            raise ValueError(f"json_format{path}: {exc}") from None
        if formatter.constant is not None:
            text = formatter.constant
            return lambda _info: text
        return formatter.typed_value
    if isinstance(node, Mapping):
        fields = [(str(key), _compile_node(value, f"{path}.{key}", omit_empty)) for key, value in node.items()]
        if omit_empty:
            return lambda info: {k: v for k, build in fields if (v := build(info)) not in (None, "", {})}
        return lambda info: {k: build(info) for k, build in fields}
    if isinstance(node, list):
        items = [_compile_node(value, f"{path}[{i}]", omit_empty) for i, value in enumerate(node)]
        return lambda info: [build(info) for build in items]
    if node is None or isinstance(node, bool | int | float):
        return lambda _info: node
    raise ValueError(f"json_format{path}: unsupported value of type {type(node).__name__}")


def compile_format(template: str, omit_empty_values: bool = False) -> Formatter:
    """Compile an Envoy format string; ValueError with a message naming the bad command."""
    return Formatter(template, omit_empty_values)


def compile_json_format(spec: Mapping[str, Any], omit_empty_values: bool = False) -> JsonFormatter:
    """Compile an Envoy ``json_format`` dict; single-command values keep their type (numbers, null)."""
    return JsonFormatter(spec, omit_empty_values)
