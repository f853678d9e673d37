"""The seed config as a mutable document, and short ways to reach into it and collect a config's errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway.config import ConfigErrors, build

SEED = Path(__file__).resolve().parents[2] / "configs" / "envoy-seed.yaml"

LISTENER = "static_resources.listeners[0]"
HCM = f"{LISTENER}.filter_chains[0].filters[0].typed_config"
VHOST = f"{HCM}.route_config.virtual_hosts[0]"
ROUTE = f"{VHOST}.routes[0]"
CLUSTER = "static_resources.clusters[0]"


def seed() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(SEED.read_text())
    return doc


def listener(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = doc["static_resources"]["listeners"][0]
    return result


def hcm(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = listener(doc)["filter_chains"][0]["filters"][0]["typed_config"]
    return result


def vhost(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = hcm(doc)["route_config"]["virtual_hosts"][0]
    return result


def route(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = vhost(doc)["routes"][0]
    return result


def cluster(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = doc["static_resources"]["clusters"][0]
    return result


def errors(doc: object) -> list[str]:
    """Every error of ``doc`` as printed (``path: message``); empty when it loads."""
    try:
        build(doc)
    except ConfigErrors as e:
        return [str(error) for error in e.errors]
    return []
