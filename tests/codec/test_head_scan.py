"""The control-character count every head we write is checked with (C when built: gateway/codec/http1/_scan.c)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.codec.http1 import common


@given(st.binary(max_size=300))
def test_the_control_count_matches_its_python_version(data: bytes) -> None:
    assert common._CONTROL_COUNT(data) == common._count_controls(data)


def test_the_control_count_is_every_c0_but_tab_and_del() -> None:
    assert common._CONTROL_COUNT(bytes(range(256))) == 32
    assert common._CONTROL_COUNT(b"a\tb") == 0
