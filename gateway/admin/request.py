"""The admin's view of one HTTP exchange: a parsed request in, a complete response out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

TEXT = "text/plain; charset=UTF-8"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class AdminRequest:
    method: str
    path: str  # decoded, without the query
    query: Mapping[str, str]  # a parameter given twice keeps its last value; a bare ``?usedonly`` maps to ""

    @classmethod
    def parse(cls, method: bytes, target: bytes) -> AdminRequest:
        parts = urlsplit(target.decode("latin-1"))
        return cls(method.decode("latin-1").upper(), unquote(parts.path), dict(parse_qsl(parts.query, True)))


@dataclass(slots=True)
class AdminResponse:
    status: int
    body: str
    content_type: str = TEXT
    # Work to do once the response is written (``/quitquitquit`` must answer before it stops the server).
    after: Callable[[], None] | None = field(default=None, compare=False)


def text(body: str, status: int = 200) -> AdminResponse:
    return AdminResponse(status, body)


def json_body(body: str, status: int = 200) -> AdminResponse:
    return AdminResponse(status, body, JSON)
