"""The field-reading toolkit: read one proto message out of its YAML/JSON object as protobuf's JSON parser does.

A parser is a function ``(Fields) -> Message``. It reads every field it knows through ``Fields`` (which accepts
snake_case and lowerCamelCase, converts scalars, checks types and ranges and records each fault with its path),
names the known fields it does not support with ``unsupported``, and builds the dataclass. Whatever it did not
read is an unknown field. A fault never stops the read: the reader records it and returns the default, so one pass
reports every error. A parser that cannot build its message raises ``Invalid`` after reading all its fields; the
message is then left out of its parent.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from gateway.config.errors import ErrorSink
from gateway.config.paths import child, item, json_name

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

UINT32_MAX = 2**32 - 1
# Proto JSON durations: "1s", "0.25s", "-1.5s" (at most nanosecond precision).
_DURATION = re.compile(r"(-?)(\d+)(?:\.(\d{1,9}))?s")
_MAX_DURATION_SECONDS = 315_576_000_000


class Invalid(Exception):
    """A message cannot be built; its faults are already recorded."""


@dataclass(slots=True)
class RouteScope:
    """Settings of the route configuration being read that its routes need."""

    validate_clusters: bool = True
    max_direct_response_body_size_bytes: int = 4096


class LoadContext:
    """State shared by the parsers of one config: the error sink, the cluster references that are checked once
    every cluster is known, and the route configuration being read."""

    def __init__(self, sink: ErrorSink) -> None:
        self.sink = sink
        self.cluster_refs: list[tuple[str, str]] = []  # (path, cluster name)
        # Every cluster name written, valid cluster or not: a route to a broken cluster is not a second fault.
        self.cluster_names: set[str] = set()
        self.route_scope = RouteScope()

    def refer_to_cluster(self, path: str, name: str) -> None:
        if self.route_scope.validate_clusters:
            self.cluster_refs.append((path, name))

    @contextmanager
    def in_route_config(self, scope: RouteScope) -> Iterator[None]:
        saved, self.route_scope = self.route_scope, scope
        try:
            yield
        finally:
            self.route_scope = saved

    def parse(self, raw: object, path: str, parse: Callable[[Fields], T]) -> T | None:
        """Run ``parse`` over the object ``raw`` at ``path``; None when it is not an object or is invalid."""
        if not isinstance(raw, Mapping):
            self.sink.add(path, f"expected an object, got {kind(raw)}")
            return None
        fields = Fields(raw, path, self)
        try:
            return parse(fields)
        except Invalid:
            return None
        finally:
            fields.finish()


def kind(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class Fields:
    """One message's object, read field by field."""

    __slots__ = ("_raw", "_read", "ctx", "path")

    def __init__(self, raw: Mapping[object, object], path: str, ctx: LoadContext) -> None:
        self._raw = raw
        self._read: set[object] = set()
        self.path = path
        self.ctx = ctx

    # -- plumbing --------------------------------------------------------------------------------------------

    def _key(self, field: str) -> str | None:
        for key in (field, json_name(field)):
            if key in self._raw:
                return key
        return None

    def at(self, field: str) -> str:
        """The path of ``field`` as the user spelled it."""
        return child(self.path, self._key(field) or field)

    def error(self, field: str, message: str) -> None:
        self.ctx.sink.add(self.at(field), message)

    def has(self, field: str) -> bool:
        key = self._key(field)
        return key is not None and self._raw[key] is not None

    def raw(self, field: str) -> object:
        """The value of ``field`` as written, or None; marks it read. A JSON null is the same as absent."""
        keys = [k for k in dict.fromkeys((field, json_name(field))) if k in self._raw]
        if len(keys) > 1 and keys[1] not in self._read:  # reported on the first read only
            self.ctx.sink.add(child(self.path, keys[1]), f"duplicate of {keys[0]}")
        self._read.update(keys)
        return self._raw[keys[0]] if keys else None

    def _wrong(self, field: str, expected: str, value: object) -> None:
        self.error(field, f"expected {expected}, got {kind(value)}")

    def ignore_rest(self) -> None:
        """Mark every field read: the whole message is already reported as wrong."""
        self._read.update(self._raw)

    def finish(self) -> None:
        """Report every field nobody read as unknown."""
        for key in self._raw:
            if key not in self._read:
                self.ctx.sink.add(child(self.path, str(key)), "unknown field")

    # -- structure -------------------------------------------------------------------------------------------

    def unsupported(self, *fields: str) -> None:
        """Known Envoy fields the gateway does not implement: an error when set, never silently ignored."""
        for field in fields:
            value = self.raw(field)
            # A scalar at its proto default (false, 0, "") or an empty list is the same as unset; a message is
            # set by its presence, even empty (``tracing: {}`` turns tracing on in Envoy).
            if value or isinstance(value, dict):
                self.error(field, "not supported")

    def oneof(self, *fields: str, required: bool = False) -> str | None:
        """The member of a oneof that is set; an error when several are (or none is and one is required)."""
        present = [f for f in fields if self.has(f)]
        if len(present) > 1:
            for field in present[1:]:
                self.error(field, f"only one of {', '.join(fields)} may be set")
        if not present and required:
            self.ctx.sink.add(self.path, f"one of {', '.join(fields)} is required")
        return present[0] if present else None

    def message(self, field: str, parse: Callable[[Fields], T], *, required: bool = False) -> T | None:
        value = self.raw(field)
        if value is None:
            if required:
                self.error(field, "required field missing")
            return None
        return self.ctx.parse(value, self.at(field), parse)

    def repeated(self, field: str, parse: Callable[[Fields], T]) -> tuple[T, ...]:
        return tuple(value for _, value in self.repeated_at(field, parse))

    def repeated_at(self, field: str, parse: Callable[[Fields], T]) -> list[tuple[str, T]]:
        """The valid elements of a repeated message field, each with its path (for cross-element checks)."""
        out: list[tuple[str, T]] = []
        for path, raw in self._list(field):
            value = self.ctx.parse(raw, path, parse)
            if value is not None:
                out.append((path, value))
        return out

    def _list(self, field: str) -> list[tuple[str, object]]:
        value = self.raw(field)
        if value is None:
            return []
        if not isinstance(value, list):
            self._wrong(field, "a list", value)
            return []
        base = self.at(field)
        return [(item(base, i), v) for i, v in enumerate(value)]

    def count(self, field: str) -> int:
        """How many elements a repeated field has as written (without reading it)."""
        key = self._key(field)
        value = self._raw[key] if key is not None else None
        return len(value) if isinstance(value, list) else 0

    def strings(self, field: str) -> tuple[str, ...]:
        return tuple(value for _, value in self.strings_at(field))

    def strings_at(self, field: str) -> list[tuple[str, str]]:
        """The strings of a repeated string field, each with its path."""
        out: list[tuple[str, str]] = []
        for path, value in self._list(field):
            if isinstance(value, str):
                out.append((path, value))
            else:
                self.ctx.sink.add(path, f"expected a string, got {kind(value)}")
        return out

    def struct(self, field: str) -> dict[str, object] | None:
        """A ``google.protobuf.Struct``: any JSON object, kept as plain values."""
        value = self.raw(field)
        if value is None:
            return None
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            self._wrong(field, "an object", value)
            return None
        return dict(value)

    def string_map(self, field: str) -> dict[str, str]:
        value = self.raw(field)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self._wrong(field, "an object", value)
            return {}
        out: dict[str, str] = {}
        for key, val in value.items():
            if isinstance(key, str) and isinstance(val, str):
                out[key] = val
            else:
                self.ctx.sink.add(child(self.at(field), str(key)), f"expected a string, got {kind(val)}")
        return out

    # -- scalars ---------------------------------------------------------------------------------------------

    def string(self, field: str, default: str = "", *, required: bool = False) -> str:
        value = self.opt_string(field)
        if required and value == "":
            self.error(field, "must not be empty")
        elif required and value is None and not self.has(field):  # (a value of the wrong type is reported)
            self.error(field, "required field missing")
        return value or default

    def opt_string(self, field: str) -> str | None:
        value = self.raw(field)
        if value is None:
            return None
        if not isinstance(value, str):
            self._wrong(field, "a string", value)
            return None
        return value

    def boolean(self, field: str, default: bool = False, *, wrapped: bool = False) -> bool:
        value = self.opt_bool(field, wrapped=wrapped)
        return default if value is None else value

    def opt_bool(self, field: str, *, wrapped: bool = False) -> bool | None:
        """A bool, or a ``BoolValue`` when ``wrapped`` (bare or as ``{value: ...}``)."""
        value = self._unwrap(field, wrapped)
        if value is None:
            return None
        if not isinstance(value, bool):
            self._wrong(field, "a boolean", value)
            return None
        return value

    def uint32(self, field: str, default: int = 0, *, wrapped: bool = False, lo: int = 0, hi: int = UINT32_MAX) -> int:
        value = self.opt_uint32(field, wrapped=wrapped, lo=lo, hi=hi)
        return default if value is None else value

    def opt_uint32(self, field: str, *, wrapped: bool = False, lo: int = 0, hi: int = UINT32_MAX) -> int | None:
        """An integer in [lo, hi]; a ``UInt32Value`` when ``wrapped``. Quoted integers are accepted, as in proto
        JSON."""
        value = self._unwrap(field, wrapped)
        if value is None:
            return None
        number = _integer(value)
        if number is None:
            self._wrong(field, "an integer", value)
            return None
        if not lo <= number <= hi:
            self.error(field, f"{number} is out of range [{lo}, {hi}]")
            return None
        return number

    def _unwrap(self, field: str, wrapped: bool) -> object:
        value = self.raw(field)
        if wrapped and isinstance(value, Mapping):
            if set(value) != {"value"}:
                self._wrong(field, "a value or {value: ...}", value)
                return None
            return value["value"]
        return value

    def duration(self, field: str, default: float, *, positive: bool = False) -> float:
        value = self.opt_duration(field, positive=positive)
        return default if value is None else value

    def opt_duration(self, field: str, *, positive: bool = False) -> float | None:
        """A ``google.protobuf.Duration`` in seconds: ``"1.5s"`` or ``{seconds, nanos}``; never negative, and
        above zero when ``positive``."""
        value = self.raw(field)
        if value is None:
            return None
        seconds = _duration(value)
        if seconds is None:
            self.error(field, f"invalid duration {value!r} (expected e.g. '1s', '0.25s' or {{seconds, nanos}})")
            return None
        if seconds < 0 or (positive and seconds == 0):
            self.error(field, f"duration must be {'greater than' if positive else 'at least'} 0s")
            return None
        return seconds

    def enum(self, field: str, cls: type[E], default: E, *, unsupported: Collection[E] = ()) -> E:
        """An enum by name or number; members in ``unsupported`` are errors that say so."""
        member = self.opt_enum(field, cls, unsupported=unsupported)
        return default if member is None else member

    def opt_enum(self, field: str, cls: type[E], *, unsupported: Collection[E] = ()) -> E | None:
        value = self.raw(field)
        if value is None:
            return None
        member = _enum_member(cls, value)
        if member is None:
            names = ", ".join(m.name for m in cls)
            self.error(field, f"unknown value {value!r} (expected one of {names})")
            return None
        if member in unsupported:
            self.error(field, f"{member.name}: not supported")
            return None
        return member

    def bytes_(self, field: str) -> bytes | None:
        """A proto ``bytes`` field: base64 text (standard or URL-safe alphabet)."""
        value = self.opt_string(field)
        if value is None:
            return None
        try:
            padded = value + "=" * (-len(value) % 4)
            return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            self.error(field, "invalid base64")
            return None


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _duration(value: object) -> float | None:
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match is None:
            return None
        sign, whole, frac = match.groups()
        seconds = int(whole) + (int(frac.ljust(9, "0")) / 1e9 if frac else 0.0)
        if int(whole) > _MAX_DURATION_SECONDS:
            return None
        return -seconds if sign else seconds
    if isinstance(value, Mapping) and set(value) <= {"seconds", "nanos"}:
        secs, nanos = _integer(value.get("seconds", 0)), _integer(value.get("nanos", 0))
        if secs is None or nanos is None or abs(nanos) > 999_999_999 or abs(secs) > _MAX_DURATION_SECONDS:
            return None
        return secs + nanos / 1e9
    return None


def _enum_member(cls: type[E], value: object) -> E | None:
    if isinstance(value, str):
        return cls.__members__.get(value)
    number = _integer(value)
    if number is not None:
        for member in cls:
            if member.value == number:
                return member
    return None
