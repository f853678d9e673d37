"""String, header, query-parameter and path matchers with Envoy's semantics."""

from __future__ import annotations

import pytest

from gateway.config.model import HeaderMatcher, QueryParameterMatcher, RouteMatch
from gateway.core.headers import HeaderMap
from gateway.filters.router.matchers import (
    CompiledHeaderMatcher,
    CompiledQueryMatcher,
    compile_path_matcher,
    compile_string_matcher,
    parse_query,
    strip_query,
)

from .builders import regex, sm


@pytest.mark.parametrize(
    ("matcher", "value", "expected"),
    [
        (sm(exact="abc"), b"abc", True),
        (sm(exact="abc"), b"abcd", False),
        (sm(exact="abc"), b"ABC", False),
        (sm(exact="abc", ignore_case=True), b"ABC", True),
        (sm(prefix="ab"), b"abc", True),
        (sm(prefix="ab"), b"cab", False),
        (sm(prefix="AB", ignore_case=True), b"abc", True),
        (sm(suffix="bc"), b"abc", True),
        (sm(suffix="bc"), b"bca", False),
        (sm(suffix="BC", ignore_case=True), b"abc", True),
        (sm(contains="b"), b"abc", True),
        (sm(contains="x"), b"abc", False),
        (sm(contains="B", ignore_case=True), b"abc", True),
        (sm(safe_regex="a.c"), b"abc", True),
        # The whole value must match, not a part of it.
        (sm(safe_regex="a.c"), b"xabcx", False),
        (sm(safe_regex="[0-9]+"), b"123", True),
    ],
)
def test_string_matcher(matcher: object, value: bytes, expected: bool) -> None:
    assert bool(compile_string_matcher(matcher)(value)) is expected  # type: ignore[arg-type]


def _hm(headers: list[tuple[bytes, bytes]], **kwargs: object) -> bool:
    return CompiledHeaderMatcher(HeaderMatcher(**kwargs)).matches(HeaderMap(headers))  # type: ignore[arg-type]


def test_header_value_matchers() -> None:
    h = [(b"x-a", b"hello")]
    assert _hm(h, name="x-a", string_match=sm(exact="hello"))
    assert not _hm(h, name="x-a", string_match=sm(exact="hell"))
    assert _hm(h, name="X-A", string_match=sm(prefix="he"))  # names are case-insensitive
    assert _hm(h, name="x-a", string_match=sm(suffix="llo"))
    assert _hm(h, name="x-a", string_match=sm(contains="ell"))
    assert _hm(h, name="x-a", string_match=sm(safe_regex="h.*o"))
    assert _hm(h, name="x-a", string_match=sm(exact="HELLO", ignore_case=True))
    assert not _hm(h, name="x-a", string_match=sm(exact="HELLO"))


def test_header_multiple_values_are_joined_with_commas() -> None:
    h = [(b"x-a", b"1"), (b"x-a", b"2")]
    assert _hm(h, name="x-a", string_match=sm(exact="1,2"))
    assert not _hm(h, name="x-a", string_match=sm(exact="1"))


def test_header_presence_and_inversion() -> None:
    present = [(b"x-a", b"v")]
    assert _hm(present, name="x-a", present_match=True)
    assert not _hm([], name="x-a", present_match=True)
    assert _hm([], name="x-a", present_match=False)
    assert not _hm(present, name="x-a", present_match=False)
    assert _hm([], name="x-a", present_match=True, invert_match=True)
    assert not _hm(present, name="x-a", present_match=True, invert_match=True)
    assert _hm(present, name="x-a", string_match=sm(exact="w"), invert_match=True)
    assert not _hm(present, name="x-a", string_match=sm(exact="v"), invert_match=True)


def test_missing_header_never_matches_a_value_even_inverted() -> None:
    assert not _hm([], name="x-a", string_match=sm(exact="v"))
    assert not _hm([], name="x-a", string_match=sm(exact="v"), invert_match=True)


def test_treat_missing_header_as_empty() -> None:
    assert _hm([], name="x-a", string_match=sm(exact=""), treat_missing_header_as_empty=True)
    assert _hm([], name="x-a", string_match=sm(exact="v"), invert_match=True, treat_missing_header_as_empty=True)
    assert not _hm([], name="x-a", string_match=sm(exact="v"), treat_missing_header_as_empty=True)


def test_pseudo_headers_can_be_matched() -> None:
    h = [(b":method", b"POST")]
    assert _hm(h, name=":method", string_match=sm(exact="POST"))


def test_parse_query() -> None:
    assert parse_query(b"/p") == {}
    assert parse_query(b"/p?a=1&b&a=2&c=x%20y#frag") == {b"a": b"1", b"b": b"", b"c": b"x%20y"}


def test_query_parameter_matcher() -> None:
    params = parse_query(b"/p?debug=1&mode=Fast")
    assert CompiledQueryMatcher(QueryParameterMatcher("debug")).matches(params)
    assert CompiledQueryMatcher(QueryParameterMatcher("debug", present_match=True)).matches(params)
    assert not CompiledQueryMatcher(QueryParameterMatcher("other")).matches(params)
    assert CompiledQueryMatcher(QueryParameterMatcher("mode", sm(exact="fast", ignore_case=True))).matches(params)
    assert not CompiledQueryMatcher(QueryParameterMatcher("mode", sm(exact="fast"))).matches(params)


def test_strip_query() -> None:
    assert strip_query(b"/a/b?x=1") == b"/a/b"
    assert strip_query(b"/a#f") == b"/a"
    assert strip_query(b"/a") == b"/a"


@pytest.mark.parametrize(
    ("match", "path", "expected"),
    [
        (RouteMatch(prefix="/api"), b"/api/v1", True),
        (RouteMatch(prefix="/api"), b"/apix", True),
        (RouteMatch(prefix="/api"), b"/API", False),
        (RouteMatch(prefix="/api", case_sensitive=False), b"/API/v1", True),
        (RouteMatch(prefix=""), b"/anything", True),
        (RouteMatch(path="/exact"), b"/exact", True),
        (RouteMatch(path="/exact"), b"/exact/", False),
        (RouteMatch(path="/Exact", case_sensitive=False), b"/eXACT", True),
        (RouteMatch(path_separated_prefix="/api"), b"/api", True),
        (RouteMatch(path_separated_prefix="/api"), b"/api/v1", True),
        (RouteMatch(path_separated_prefix="/api"), b"/apix", False),
        (RouteMatch(path_separated_prefix="/API", case_sensitive=False), b"/api/x", True),
        (RouteMatch(safe_regex=regex("/v[0-9]+/.*")), b"/v2/users", True),
        (RouteMatch(safe_regex=regex("/v[0-9]+")), b"/v2/users", False),
    ],
)
def test_path_matchers(match: RouteMatch, path: bytes, expected: bool) -> None:
    predicate, _ = compile_path_matcher(match)
    assert bool(predicate(path)) is expected
