"""``--config-yaml`` merges over ``-c`` as protobuf's MergeFrom does."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigErrors, load_bootstrap
from gateway.config.merge import merge
from tests.config.helpers import SEED


def test_overlay_appends_to_lists_and_adds_messages() -> None:
    overlay = """
static_resources:
  clusters:
  - name: extra
    connect_timeout: 3s
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: 9901}}
node: {id: edge-1}
"""
    bootstrap = load_bootstrap(str(SEED), overlay)
    assert [c.name for c in bootstrap.static_resources.clusters] == ["cart_cluster", "extra"]
    assert bootstrap.static_resources.clusters[1].connect_timeout == 3.0
    assert bootstrap.admin.address is not None and str(bootstrap.admin.address) == "127.0.0.1:9901"
    assert bootstrap.node.id == "edge-1"
    assert bootstrap.raw["node"] == {"id": "edge-1"}


def test_overlay_replaces_scalars_inside_messages(tmp_path: Path) -> None:
    path = tmp_path / "envoy.yaml"
    path.write_text("node: {id: a, cluster: blue, metadata: {k: v}}\n")
    bootstrap = load_bootstrap(str(path), "node: {cluster: green, metadata: {j: w}}")
    assert (bootstrap.node.id, bootstrap.node.cluster) == ("a", "green")
    assert bootstrap.node.metadata == {"k": "v", "j": "w"}


def test_an_appended_listener_is_checked_against_the_file() -> None:
    overlay = (
        "static_resources: {listeners: [{name: again, address: {socket_address: {address: 0.0.0.0, port_value: 80}}}]}"
    )
    with pytest.raises(ConfigErrors) as info:
        load_bootstrap(str(SEED), overlay)
    assert [str(e) for e in info.value.errors] == [
        "static_resources.listeners[1].filter_chains: at least one filter chain is required"
    ]


def test_overlay_only() -> None:
    bootstrap = load_bootstrap(None, "node: {id: solo, cluster: c}")
    assert (bootstrap.node.id, bootstrap.node.cluster) == ("solo", "c")


def test_fields_merge_across_spellings() -> None:
    base = {"staticResources": {"clusters": [{"name": "a"}]}, "node": {"id": "x", "cluster": "y"}}
    overlay = {"static_resources": {"clusters": [{"name": "b"}]}, "node": {"cluster": "z"}}
    assert merge(base, overlay) == {
        "staticResources": {"clusters": [{"name": "a"}, {"name": "b"}]},
        "node": {"id": "x", "cluster": "z"},
    }


def test_an_any_of_another_type_is_replaced_whole() -> None:
    base = {"typed_config": {"@type": "a.A", "x": 1}}
    overlay = {"typed_config": {"@type": "b.B", "y": 2}}
    assert merge(base, overlay) == overlay


def test_null_in_the_overlay_sets_nothing() -> None:
    assert merge({"node": {"id": "a"}}, {"node": None}) == {"node": {"id": "a"}}


@pytest.mark.parametrize(
    ("base", "overlay", "merged"),
    [
        ({"a": 1}, {}, {"a": 1}),
        ({}, {"a": [1]}, {"a": [1]}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [1, 2, 3]}),
        ({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2], "d": 3}}, {"a": {"b": 1, "c": [1, 2], "d": 3}}),
        ({"a": {"b": 1}}, {"a": 5}, {"a": 5}),
    ],
)
def test_merge_rules(base: object, overlay: object, merged: object) -> None:
    assert merge(base, overlay) == merged
