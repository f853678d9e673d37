"""Helpers for the tests of our plugins: each test drives the committed build of a plugin (rebuilt from source by
`scripts/build-plugins.sh` in `scripts/test`) through `abi.testing.Harness`."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from abi.errors import PluginLoadError
from abi.testing import Harness

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
_vm_ids = itertools.count()


def plugin_path(name: str) -> Path:
    return PLUGINS / name / f"{name}.wasm"


def unique_vm_id() -> str:
    """Shared data is process-wide per vm_id: a fresh id keeps tests from seeing each other's state."""
    return f"plugin-test-{next(_vm_ids)}"


def load(name: str, config: dict[str, Any] | str, **options: Any) -> Harness:
    """Loads plugin `name` with a JSON configuration, in a VM of its own `vm_id` unless one is given."""
    configuration = config if isinstance(config, str) else json.dumps(config)
    options.setdefault("vm_id", unique_vm_id())
    return Harness.load(plugin_path(name), configuration=configuration, **options)


class _Recorder(Harness):
    """Keeps a handle on the harness being built, so the logs of a rejected configuration stay readable."""

    last: Harness | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _Recorder.last = self
        super().__init__(*args, **kwargs)


def assert_config_rejected(name: str, config: dict[str, Any] | str, reason: str) -> None:
    """Loads a plugin with a configuration it must reject, and checks that it logged `reason`."""
    configuration = config if isinstance(config, str) else json.dumps(config)
    with pytest.raises(PluginLoadError, match="proxy_on_configure returned false"):
        _Recorder.load(plugin_path(name), configuration=configuration, vm_id=unique_vm_id())
    assert _Recorder.last is not None
    logged = _Recorder.last.log_messages()
    assert any(reason in message for message in logged), logged
