"""Content-Length values the codecs accept: 1 to 18 ASCII digits, nothing else (no sign, space, list or hex)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.codec.http1.common import MAX_LENGTH_DIGITS, is_length

values = (
    st.binary(max_size=24)
    | st.text("0123456789", max_size=21).map(str.encode)
    | st.text("019 +-_,x\t", max_size=6).map(str.encode)
)


@given(values)
def test_is_length_is_one_to_eighteen_ascii_digits(value: bytes) -> None:
    assert is_length(value) == (value.isdigit() and len(value) <= MAX_LENGTH_DIGITS)
