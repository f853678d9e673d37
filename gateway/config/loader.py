"""Loading a config: read ``-c`` (YAML or JSON), merge ``--config-yaml`` over it, build the model and run the
checks that need the whole config. Nothing is resolved or bound: no DNS, no sockets."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import reduce

import yaml

import gateway.config.extensions  # noqa: F401 - registers the built-in extensions
from gateway.config.errors import ConfigErrors, ErrorSink
from gateway.config.fields import LoadContext
from gateway.config.merge import merge
from gateway.config.model.bootstrap import Bootstrap
from gateway.config.parse.bootstrap import parse_bootstrap
from gateway.core.errors import ConfigError


def load_bootstrap(path: str | None, overlay_yaml: str | None = None) -> Bootstrap:
    """The config of ``-c path`` with ``--config-yaml overlay_yaml`` merged over it (either may be absent, not
    both). Raises ``ConfigErrors`` listing every fault."""
    documents: list[object] = []
    if path is not None:
        documents.append(_read_file(path))
    if overlay_yaml is not None:
        documents.append(_parse_yaml(overlay_yaml, "--config-yaml"))
    if not documents:
        raise ConfigErrors([ConfigError("", "no config: give -c FILE and/or --config-yaml TEXT")])
    return build(reduce(merge, documents))


def loads(text: str, overlay_yaml: str | None = None) -> Bootstrap:
    """The config in ``text`` (YAML or JSON), with ``overlay_yaml`` merged over it."""
    document = _parse_yaml(text, "config")
    if overlay_yaml is not None:
        document = merge(document, _parse_yaml(overlay_yaml, "--config-yaml"))
    return build(document)


def build(document: object) -> Bootstrap:
    """The model of a parsed document; ``Bootstrap.raw`` keeps the document."""
    document = {} if document is None else document  # an empty file is an empty bootstrap
    sink = ErrorSink()
    ctx = LoadContext(sink)
    bootstrap = ctx.parse(document, "", parse_bootstrap)
    for path, name in ctx.cluster_refs:
        if name not in ctx.cluster_names:
            sink.add(path, f"unknown cluster {name!r}")
    sink.raise_if_any()
    assert bootstrap is not None and isinstance(document, dict)  # else an error was raised
    return replace(bootstrap, raw=document)


def _read_file(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigErrors([ConfigError("", f"cannot read config {path!r}: {e}")]) from None
    if path.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigErrors(
                [ConfigError("", f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}")]
            ) from None
    return _parse_yaml(text, path)


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key repeated in one mapping is an error (PyYAML keeps the last one
    silently, hiding a typo's effect)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *defaults`` may be overridden by own keys
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, source: str) -> object:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigErrors([ConfigError("", f"{source}: invalid YAML{where}: {problem}")]) from None
