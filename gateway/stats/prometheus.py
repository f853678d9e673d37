"""``/stats/prometheus``: the text exposition format with Envoy's names and labels.

A stat's name goes through tag extraction (``gateway.stats.tags``); the remaining name, with every character
Prometheus does not allow replaced by ``_``, gets the ``envoy_`` prefix, and the tags become labels
(``envoy_cluster_upstream_rq_total{envoy_cluster_name="cart_cluster"}``). Stats in a custom namespace
(``wasmcustom.`` for plugin metrics, as Envoy does) drop the namespace and get no ``envoy_`` prefix; one whose
name would then start with a digit is left out, as Envoy does. One ``# TYPE`` line heads each metric and a blank
line ends it; histograms print cumulative ``_bucket`` lines, ``_sum`` and ``_count``. Like Envoy we always print
the braces, even with no labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from gateway.stats.render import ALL, Selection, format_number, selected_histograms, selected_scalars
from gateway.stats.store import Counter, Gauge, Histogram, Store
from gateway.stats.tags import TagExtractor, Tags

CUSTOM_NAMESPACES: tuple[str, ...] = ("wasmcustom.",)

_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_]")

_INF_BUCKET = 'le="+Inf"'

_default_extractor = TagExtractor()

Stat = TypeVar("Stat", Counter, Gauge, Histogram)


def metric_name(name: str) -> str | None:
    """The exposed name of a tag-extracted stat name; None for a custom one that cannot be a Prometheus name."""
    for namespace in CUSTOM_NAMESPACES:
        if name.startswith(namespace):
            sanitized = _INVALID_CHARS.sub("_", name[len(namespace) :])
            return sanitized if sanitized and not sanitized[0].isdigit() else None
    return "envoy_" + _INVALID_CHARS.sub("_", name)


def label_name(tag: str) -> str:
    sanitized = _INVALID_CHARS.sub("_", tag)
    return "_" + sanitized if sanitized[:1].isdigit() else sanitized


def label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(tags: Tags, extra: str = "") -> str:
    parts = [f'{label_name(tag)}="{label_value(value)}"' for tag, value in tags]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}"


def render_prometheus(store: Store, selection: Selection = ALL, extractor: TagExtractor = _default_extractor) -> str:
    scalars = selected_scalars(store, selection)
    out: list[str] = []
    seen: set[str] = set()  # a metric name may carry only one TYPE: the first type to claim it wins
    _render_family(out, seen, "counter", [s for s in scalars if isinstance(s, Counter)], extractor, _scalar_lines)
    _render_family(out, seen, "gauge", [s for s in scalars if isinstance(s, Gauge)], extractor, _scalar_lines)
    _render_family(out, seen, "histogram", selected_histograms(store, selection), extractor, _histogram_lines)
    return "".join(out)


def _render_family(
    out: list[str],
    seen: set[str],
    kind: str,
    stats: Sequence[Stat],
    extractor: TagExtractor,
    lines: Callable[[str, Tags, Stat], list[str]],
) -> None:
    groups: dict[str, list[tuple[Tags, Stat]]] = {}
    for stat in stats:  # sorted by name, so each group is too
        base, tags = extractor.extract(stat.name)
        name = metric_name(base)
        if name is not None:
            groups.setdefault(name, []).append((tags, stat))
    for name in sorted(groups):
        if name in seen:
            continue
        seen.add(name)
        out.append(f"# TYPE {name} {kind}\n")
        for tags, stat in groups[name]:
            out.extend(lines(name, tags, stat))
        out.append("\n")


def _scalar_lines(name: str, tags: Tags, stat: Counter | Gauge) -> list[str]:
    return [f"{name}{_labels(tags)} {stat.value}\n"]


def _histogram_lines(name: str, tags: Tags, histogram: Histogram) -> list[str]:
    lines: list[str] = []
    cumulative = 0
    for bound, count in zip(histogram.bounds, histogram.counts, strict=False):
        cumulative += count
        le = 'le="' + format_number(bound) + '"'
        lines.append(f"{name}_bucket{_labels(tags, le)} {cumulative}\n")
    lines.append(f"{name}_bucket{_labels(tags, _INF_BUCKET)} {histogram.count}\n")
    lines.append(f"{name}_sum{_labels(tags)} {format_number(histogram.sum)}\n")
    lines.append(f"{name}_count{_labels(tags)} {histogram.count}\n")
    return lines
