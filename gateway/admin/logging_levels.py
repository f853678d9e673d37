"""``/logging``: list the gateway's Python loggers with their levels (GET) or change them (POST):
``?level=debug`` sets every one, ``?paths=name:level,name:level`` or ``?name=level`` set some. Levels are Envoy's
names; ``trace`` maps to Python's DEBUG (the lowest level Python names) and ``off`` silences a logger."""

from __future__ import annotations

import logging

from gateway.admin.context import AdminContext
from gateway.admin.request import AdminRequest, AdminResponse, text

ROOTS = ("gateway", "abi")
_OFF = logging.CRITICAL + 10
LEVELS: dict[str, int] = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "off": _OFF,
}
_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error"}

USAGE = (
    "usage: POST /logging?level=<level> (every logger), ?paths=<logger>:<level>,... or ?<logger>=<level>\n"
    f"levels: {', '.join(LEVELS)}\n"
)


def known_loggers() -> dict[str, logging.Logger]:
    """The gateway's loggers by name (the package roots always, plus every module logger created so far)."""
    found = {name: logging.getLogger(name) for name in ROOTS}
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.split(".", 1)[0] in ROOTS:
            found[name] = logger
    return dict(sorted(found.items()))


def _level_name(level: int) -> str:
    if level >= _OFF:
        return "off"
    if level >= logging.CRITICAL:
        return "critical"
    return _NAMES.get(level, logging.getLevelName(level).lower())


def _listing() -> str:
    lines = [f"  {name}: {_level_name(logger.getEffectiveLevel())}" for name, logger in known_loggers().items()]
    return "active loggers:\n" + "".join(line + "\n" for line in lines)


def logging_handler(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    if request.method != "POST":
        if request.query:
            return text(f"Method {request.method} not allowed, POST required.\n", 405)
        return text(_listing())
    try:
        changes = _requested_changes(request)
    except ValueError as exc:
        return text(f"error: {exc}\n{USAGE}", 400)
    for logger, level in changes:
        logger.setLevel(level)
    return text(_listing())


def _requested_changes(request: AdminRequest) -> list[tuple[logging.Logger, int]]:
    """Validate everything before changing anything."""
    query = dict(request.query)
    loggers = known_loggers()
    if not query:
        raise ValueError("no level given")
    if "level" in query:
        level = _level(query.pop("level"))
        if query:
            raise ValueError("level= cannot be combined with other parameters")
        return [(logger, level) for logger in loggers.values()]
    pairs: list[tuple[str, str]] = []
    if "paths" in query:
        for item in query.pop("paths").split(","):
            name, sep, level_name = item.partition(":")
            if not sep:
                raise ValueError(f"expected <logger>:<level> in paths, got {item!r}")
            pairs.append((name.strip(), level_name.strip()))
    pairs.extend(query.items())
    changes = []
    for name, level_name in pairs:
        if name not in loggers:
            raise ValueError(f"unknown logger {name!r}")
        changes.append((loggers[name], _level(level_name)))
    return changes


def _level(name: str) -> int:
    level = LEVELS.get(name.lower())
    if level is None:
        raise ValueError(f"unknown level {name!r}")
    return level
