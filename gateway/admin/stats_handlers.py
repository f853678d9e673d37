"""``/stats`` (text, ``?format=json``, ``?format=prometheus``) and ``/stats/prometheus``; both take ``filter``
(a regex searched in the full name) and ``usedonly``."""

from __future__ import annotations

from gateway.admin.context import AdminContext
from gateway.admin.request import AdminRequest, AdminResponse, json_body, text
from gateway.stats.prometheus import render_prometheus
from gateway.stats.render import Selection, render_json, render_text

PROMETHEUS = "text/plain; version=0.0.4; charset=UTF-8"


def _selection(request: AdminRequest) -> Selection:
    return Selection.parse(request.query.get("filter"), "usedonly" in request.query)


def stats(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    fmt = request.query.get("format", "text")
    if fmt not in ("text", "json", "prometheus"):
        return text(f"invalid format {fmt!r}: use text, json or prometheus\n", 400)
    try:
        selection = _selection(request)
    except ValueError as exc:
        return text(f"{exc}\n", 400)
    ctx.refresh_stats()
    if fmt == "json":
        return json_body(render_json(ctx.stats, selection))
    if fmt == "prometheus":
        return AdminResponse(200, render_prometheus(ctx.stats, selection), PROMETHEUS)
    return text(render_text(ctx.stats, selection))


def prometheus(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    try:
        selection = _selection(request)
    except ValueError as exc:
        return text(f"{exc}\n", 400)
    ctx.refresh_stats()
    return AdminResponse(200, render_prometheus(ctx.stats, selection), PROMETHEUS)
