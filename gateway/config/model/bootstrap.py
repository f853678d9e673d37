"""``config.bootstrap.v3``: Bootstrap, StaticResources, Admin and bootstrap extensions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.config.model.access_log import AccessLog
from gateway.config.model.cluster import Cluster
from gateway.config.model.core import Address, Node
from gateway.config.model.listener import Listener


@dataclass(frozen=True, slots=True)
class Admin:
    """``bootstrap.v3.Admin``. ``address`` None means no admin listener. The deprecated ``access_log_path`` is
    kept as written (empty when unset); a non-empty path means "log admin requests there" as a file logger."""

    address: Address | None = None
    access_log: tuple[AccessLog, ...] = ()
    access_log_path: str = ""


@dataclass(frozen=True, slots=True)
class StaticResources:
    listeners: tuple[Listener, ...] = ()
    clusters: tuple[Cluster, ...] = ()


@dataclass(frozen=True, slots=True)
class BootstrapExtension:
    """A ``TypedExtensionConfig`` in ``bootstrap_extensions``: ``WasmService`` (``envoy.bootstrap.wasm``) today."""

    name: str
    typed_config: object


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """The whole config. ``raw`` is the merged document as loaded (file + ``--config-yaml``) for
    ``/config_dump``; it is not compared."""

    node: Node = field(default_factory=Node)
    admin: Admin = field(default_factory=Admin)
    static_resources: StaticResources = field(default_factory=StaticResources)
    bootstrap_extensions: tuple[BootstrapExtension, ...] = ()
    raw: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)
