"""Request matchers compiled from the config model: string, header and query-parameter matchers and path specifiers.

Every matcher is turned into a plain callable over bytes at config time, so matching a request is one call per
matcher: no dispatch on the matcher kind, no re-encoding, regexes compiled once. Semantics are Envoy's:
- a header with several values is matched against its values joined with ``,``;
- a missing header fails every matcher except ``present_match: false`` (and, inverted, ``present_match: true``),
  unless ``treat_missing_header_as_empty`` makes it the empty string; ``invert_match`` does not make a missing
  header match a value matcher;
- regexes must match the whole value; ``ignore_case`` does not apply to them;
- path specifiers match the path without its query string and fragment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import methodcaller

from gateway.config.model import HeaderMatcher, QueryParameterMatcher, RegexMatcher, RouteMatch, StringMatcher
from gateway.core.headers import HeaderMap

BytesPredicate = Callable[[bytes], object]  # truthy when the value matches


def compile_regex(matcher: RegexMatcher) -> re.Pattern[bytes]:
    """The RE2-checked pattern as a bytes pattern: headers and paths stay bytes end to end."""
    try:
        return re.compile(matcher.regex.encode())
    except re.error as exc:
        raise ValueError(f"invalid regex {matcher.regex!r}: {exc}") from None


def compile_string_matcher(m: StringMatcher) -> BytesPredicate:
    if m.safe_regex is not None:
        return compile_regex(m.safe_regex).fullmatch
    if m.ignore_case:
        return _ignore_case(m)
    if m.exact is not None:
        return m.exact.encode().__eq__
    if m.prefix is not None:
        return methodcaller("startswith", m.prefix.encode())
    if m.suffix is not None:
        return methodcaller("endswith", m.suffix.encode())
    if m.contains is not None:
        return methodcaller("__contains__", m.contains.encode())
    raise ValueError("string matcher without a pattern")


def _ignore_case(m: StringMatcher) -> BytesPredicate:
    if m.exact is not None:
        exact = m.exact.lower().encode()
        return lambda v: v.lower() == exact
    if m.prefix is not None:
        prefix = m.prefix.lower().encode()
        return lambda v: v.lower().startswith(prefix)
    if m.suffix is not None:
        suffix = m.suffix.lower().encode()
        return lambda v: v.lower().endswith(suffix)
    if m.contains is not None:
        needle = m.contains.lower().encode()
        return lambda v: needle in v.lower()
    raise ValueError("string matcher without a pattern")


class CompiledHeaderMatcher:
    __slots__ = ("name", "_value", "_present", "_invert", "_missing_as_empty")

    def __init__(self, m: HeaderMatcher) -> None:
        self.name = m.name.lower().encode()
        # None: a presence matcher (``_present`` says which way).
        self._value = compile_string_matcher(m.string_match) if m.string_match is not None else None
        self._present = m.present_match is not False
        self._invert = m.invert_match
        self._missing_as_empty = m.treat_missing_header_as_empty

    def matches(self, headers: HeaderMap) -> bool:
        value = headers.joined(self.name)
        if value is None:
            if not self._missing_as_empty:
                return self._value is None and self._present == self._invert
            value = b""
        matched = bool(self._value(value)) if self._value is not None else self._present
        return matched != self._invert


def parse_query(path: bytes) -> dict[bytes, bytes]:
    """Envoy's ``parseQueryString``: raw (undecoded) values, the first occurrence of a name wins, a name without
    ``=`` has the empty value."""
    start = path.find(b"?")
    params: dict[bytes, bytes] = {}
    if start < 0:
        return params
    end = path.find(b"#", start)
    query = path[start + 1 : end if end >= 0 else len(path)]
    for item in query.split(b"&"):
        if not item:
            continue
        name, _, value = item.partition(b"=")
        params.setdefault(name, value)
    return params


class CompiledQueryMatcher:
    __slots__ = ("name", "_value")

    def __init__(self, m: QueryParameterMatcher) -> None:
        self.name = m.name.encode()
        self._value = compile_string_matcher(m.string_match) if m.string_match is not None else None

    def matches(self, params: dict[bytes, bytes]) -> bool:
        value = params.get(self.name)
        if value is None:
            return False
        return self._value is None or bool(self._value(value))


def strip_query(path: bytes) -> bytes:
    """The path without ``?query`` and ``#fragment``."""
    end = path.find(b"?")
    if end >= 0:
        path = path[:end]
    end = path.find(b"#")
    return path if end < 0 else path[:end]


def compile_path_matcher(m: RouteMatch) -> tuple[BytesPredicate, bytes | None]:
    """The predicate over the query-less path, and the literal the path was matched by (the part that
    ``prefix_rewrite`` replaces; None for a regex, whose rewrite replaces the whole path)."""
    fold = not m.case_sensitive
    if m.prefix is not None:
        prefix = m.prefix.encode()
        return _prefix(prefix.lower() if fold else prefix, fold), prefix
    if m.path is not None:
        path = m.path.encode()
        if fold:
            folded = path.lower()
            return lambda p: p.lower() == folded, path
        return path.__eq__, path
    if m.path_separated_prefix is not None:
        prefix = m.path_separated_prefix.encode()
        return _separated_prefix(prefix.lower() if fold else prefix, fold), prefix
    if m.safe_regex is not None:
        return compile_regex(m.safe_regex).fullmatch, None
    raise ValueError("route match without a path specifier")


def _prefix(prefix: bytes, fold: bool) -> BytesPredicate:
    if fold:
        return lambda p: p[: len(prefix)].lower() == prefix
    return methodcaller("startswith", prefix)


def _separated_prefix(prefix: bytes, fold: bool) -> BytesPredicate:
    size = len(prefix)

    def matches(p: bytes) -> bool:
        head = p[:size].lower() if fold else p[:size]
        return head == prefix and (len(p) == size or p[size] == 0x2F)  # "/"

    return matches
