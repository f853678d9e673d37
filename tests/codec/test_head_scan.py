"""The control-character count every head we write is checked with (C when built: gateway/codec/http1/_scan.c)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.codec.http1 import common


@given(st.binary(max_size=300))
def test_the_control_count_matches_its_python_version(data: bytes) -> None:
    assert common._CONTROL_COUNT(data) == common._count_controls(data)


def test_the_control_count_is_every_c0_but_tab_and_del() -> None:
    assert common._CONTROL_COUNT(bytes(range(256))) == 32
    assert common._CONTROL_COUNT(b"a\tb") == 0


names = st.sampled_from([b"host", b"x-a", b"Content-Type", b"a!#$%&'*+-.^_`|~z"]) | st.binary(max_size=6)
values = st.sampled_from([b"", b"v", b"a\tb", b"\xff\x80"]) | st.binary(max_size=8)


@given(st.lists(st.tuples(names, values), min_size=1, max_size=6))
def test_the_c_head_builds_what_the_checks_build_or_defers_to_them(fields: list[tuple[bytes, bytes]]) -> None:
    """The C fast path (gateway/codec/http1/_scan.c) returns the head the exact checks build, or None where they
    refuse it (and where it is unsure): it never lets through what they refuse."""
    if common._SCAN is None:
        pytest.skip("plain Python: the checks alone build heads")
    start = b"HTTP/1.1 200 OK\r\n"
    try:
        expected: bytes | None = common._checked_head(start, fields)
    except ValueError:
        expected = None
    built = common._SCAN.head(start, fields)
    assert built is None or built == expected
    if all(common._IS_TOKEN.fullmatch(n) and not common.FORBIDDEN_IN_VALUE.search(v) for n, v in fields):
        assert built == expected  # the usual head takes the fast path


def test_the_c_head_refuses_a_control_character_in_the_start_line() -> None:
    if common._SCAN is None:
        pytest.skip("plain Python: the checks alone build heads")
    assert common._SCAN.head(b"GET /\n HTTP/1.1\r\n", [(b"host", b"a")]) is None
    assert common._SCAN.head(b"GET / HTTP/1.1\r\n", [(b"host", b"a")]) == b"GET / HTTP/1.1\r\nhost: a\r\n\r\n"
