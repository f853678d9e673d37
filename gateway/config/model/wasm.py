"""Wasm plugins: ``extensions.wasm.v3`` PluginConfig / VmConfig / WasmService and the HTTP filter's ``Wasm``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from gateway.config.model.core import DataSource


class FailurePolicy(Enum):
    """What happens to a stream when its plugin's VM has failed. Values are the proto's."""

    UNSPECIFIED = 0
    FAIL_RELOAD = 1
    FAIL_CLOSED = 2
    FAIL_OPEN = 3


@dataclass(frozen=True, slots=True)
class EnvironmentVariables:
    host_env_keys: tuple[str, ...] = ()
    key_values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VmConfig:
    """``wasm.v3.VmConfig``. ``runtime`` is kept as written; every accepted runtime (v8, wasmtime, wamr) runs on
    wasmtime here, ``envoy.wasm.runtime.null`` is rejected. ``code`` is ``code.local`` (``remote`` is not
    supported). ``configuration`` is the Any's payload: a StringValue's text as UTF-8 or a BytesValue's bytes."""

    runtime: str
    code: DataSource
    vm_id: str = ""
    configuration: bytes = b""
    environment_variables: EnvironmentVariables = field(default_factory=EnvironmentVariables)


@dataclass(frozen=True, slots=True)
class PluginConfig:
    """``wasm.v3.PluginConfig``; ``configuration`` is decoded as ``VmConfig.configuration``.

    ``failure_policy`` is kept as written; ``effective_failure_policy`` applies Envoy's rule that UNSPECIFIED
    defers to the deprecated ``fail_open`` (true -> FAIL_OPEN, false -> FAIL_CLOSED).
    """

    vm_config: VmConfig
    name: str = ""
    root_id: str = ""
    configuration: bytes = b""
    fail_open: bool = False
    failure_policy: FailurePolicy = FailurePolicy.UNSPECIFIED

    @property
    def effective_failure_policy(self) -> FailurePolicy:
        if self.failure_policy is not FailurePolicy.UNSPECIFIED:
            return self.failure_policy
        return FailurePolicy.FAIL_OPEN if self.fail_open else FailurePolicy.FAIL_CLOSED


@dataclass(frozen=True, slots=True)
class Wasm:
    """``envoy.filters.http.wasm``: ``extensions.filters.http.wasm.v3.Wasm``."""

    config: PluginConfig


@dataclass(frozen=True, slots=True)
class WasmService:
    """``envoy.bootstrap.wasm``: a VM with only a root context, for background work."""

    config: PluginConfig
    singleton: bool = False
