"""Path rewrites (``prefix_rewrite``, ``regex_rewrite``) and the ``Location`` of redirects, as Envoy builds them.

``prefix_rewrite`` replaces the part of ``:path`` the route matched (its prefix or exact path; for a regex route,
the whole path without its query), keeping the rest and the query. ``regex_rewrite`` substitutes every match in the
path without its query and keeps the query. Substitutions use RE2's syntax (``\\1``, ``\\0``, ``\\\\``).
"""

from __future__ import annotations

from gateway.config.model import RedirectAction, RegexMatchAndSubstitute
from gateway.core.headers import HeaderMap
from gateway.filters.router.matchers import compile_regex, strip_query


def re2_template(substitution: str) -> bytes:
    """An RE2 rewrite string as a Python ``re.sub`` template: ``\\N`` -> ``\\g<N>``, literals kept verbatim."""
    out = bytearray()
    raw = substitution.encode()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c != 0x5C:  # backslash
            out.append(c)
            i += 1
            continue
        nxt = raw[i + 1 : i + 2]
        if nxt.isdigit():
            out += b"\\g<" + nxt + b">"
        elif nxt == b"\\":
            out += b"\\\\"
        else:
            raise ValueError(f"invalid regex substitution {substitution!r}: '\\' must be followed by a digit or '\\'")
        i += 2
    return bytes(out)


class PathRewrite:
    """One of ``prefix_rewrite`` (with the literal the route matched) or ``regex_rewrite``."""

    __slots__ = ("_prefix", "_matched", "_regex", "_template")

    def __init__(self, prefix: str | None, regex: RegexMatchAndSubstitute | None, matched: bytes | None) -> None:
        self._prefix = prefix.encode() if prefix is not None else None
        self._matched = matched
        self._regex = compile_regex(regex.pattern) if regex is not None else None
        self._template = re2_template(regex.substitution) if regex is not None else b""

    def apply(self, path: bytes) -> bytes:
        if self._prefix is not None:
            cut = len(self._matched) if self._matched is not None else len(strip_query(path))
            return self._prefix + path[cut:]
        assert self._regex is not None
        just_path = strip_query(path)
        return self._regex.sub(self._template, just_path) + path[len(just_path) :]


def compile_path_rewrite(
    prefix: str | None, regex: RegexMatchAndSubstitute | None, matched: bytes | None
) -> PathRewrite | None:
    if prefix is None and regex is None:
        return None
    return PathRewrite(prefix, regex, matched)


class Redirect:
    """How the ``Location`` of a redirect (or of a 3xx/201 direct response) is built from the request."""

    __slots__ = ("status", "_scheme", "_host", "_port", "_path", "_path_has_query", "_strip_query", "path_rewrite")

    def __init__(self, status: int, action: RedirectAction | None = None, matched: bytes | None = None) -> None:
        self.status = status
        a = action if action is not None else RedirectAction()
        scheme = a.scheme_redirect or ("https" if a.https_redirect else None)
        self._scheme = scheme.lower().encode() if scheme else None
        self._host = a.host_redirect.encode() if a.host_redirect else None
        self._port = b":%d" % a.port_redirect if a.port_redirect else b""
        self._path = a.path_redirect.encode() if a.path_redirect else None
        self._path_has_query = self._path is not None and b"?" in self._path
        self._strip_query = a.strip_query
        # Applied to the request's :path before the Location is built (Envoy rewrites the request, too).
        self.path_rewrite = compile_path_rewrite(a.prefix_rewrite, a.regex_rewrite, matched)

    def location(self, headers: HeaderMap) -> bytes:
        scheme = self._scheme or headers.get(b":scheme") or b"http"
        host = self._host if self._host is not None else self._request_host(headers, scheme)
        request_path = headers.path or b"/"
        if self._path is None:
            path = request_path
        elif self._path_has_query:
            path = self._path  # its own query wins, and strip_query does not touch it
        else:
            q = request_path.find(b"?")
            path = self._path + request_path[q:] if q >= 0 else self._path
        if not path.startswith(b"/"):
            path = b"/" + path
        if self._strip_query and not self._path_has_query:
            q = path.find(b"?")
            if q >= 0:
                path = path[:q]
        return b"%s://%s%s%s" % (scheme, host, self._port, path)

    def _request_host(self, headers: HeaderMap, scheme: bytes) -> bytes:
        """The request's host, without its port when a new port is set or when the scheme changes and the port
        was the old scheme's default (judged by x-forwarded-proto, as Envoy does)."""
        host = headers.authority or b""
        if host.startswith(b"["):
            end = host.rfind(b"]:")
            end = end + 1 if end >= 0 else -1
        else:
            end = host.rfind(b":")
        if end < 0:
            return host
        if self._port:
            return host[:end]
        protocol = headers.get(b"x-forwarded-proto") or headers.get(b":scheme") or b""
        port = host[end:]
        if scheme != protocol and (
            (protocol == b"https" and port == b":443") or (protocol == b"http" and port == b":80")
        ):
            return host[:end]
        return host
