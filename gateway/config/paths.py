"""YAML paths as errors print them: ``static_resources.listeners[0].address``."""

from __future__ import annotations


def child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def item(path: str, index: int) -> str:
    return f"{path}[{index}]"


def json_name(field: str) -> str:
    """The lowerCamelCase name protobuf's JSON mapping gives ``field`` (``accept_http_10`` -> ``acceptHttp10``)."""
    head, *rest = field.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def canonical(key: str) -> str:
    """One spelling for both ``stat_prefix`` and ``statPrefix`` (used to merge documents written in either)."""
    return key.replace("_", "").lower()
