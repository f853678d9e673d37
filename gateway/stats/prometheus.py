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

import functools
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from gateway.stats.render import ALL, Selection, format_number, selected_histograms, selected_scalars
from gateway.stats.store import Counter, Gauge, Histogram, Store
from gateway.stats.tags import TagExtractor

CUSTOM_NAMESPACES: tuple[str, ...] = ("wasmcustom.",)

_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_]")


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


class _Series:
    """Per stat name: its exposed metric name and rendered labels (``k="v",k="v"``), computed once."""

    def __init__(self, extractor: TagExtractor) -> None:
        self._extractor = extractor
        self._cache: dict[str, tuple[str | None, str]] = {}

    def of(self, stat_name: str) -> tuple[str | None, str]:
        cached = self._cache.get(stat_name)
        if cached is None:
            base, tags = self._extractor.extract(stat_name)
            labels = ",".join(f'{label_name(tag)}="{label_value(value)}"' for tag, value in tags)
            cached = self._cache[stat_name] = (metric_name(base), labels)
        return cached


_default_series = _Series(TagExtractor())


@functools.cache
def _bucket_bounds(bounds: tuple[float, ...]) -> tuple[str, ...]:
    return tuple(format_number(bound) for bound in bounds)


def render_prometheus(store: Store, selection: Selection = ALL, extractor: TagExtractor | None = None) -> str:
    series = _default_series if extractor is None else _Series(extractor)
    scalars = selected_scalars(store, selection)
    out: list[str] = []
    seen: set[str] = set()  # a metric name may carry only one TYPE: the first type to claim it wins
    _render_family(out, seen, "counter", [s for s in scalars if isinstance(s, Counter)], series, _scalar_lines)
    _render_family(out, seen, "gauge", [s for s in scalars if isinstance(s, Gauge)], series, _scalar_lines)
    _render_family(out, seen, "histogram", selected_histograms(store, selection), series, _histogram_lines)
    return "".join(out)


def _render_family(
    out: list[str],
    seen: set[str],
    kind: str,
    stats: Sequence[Stat],
    series: _Series,
    lines: Callable[[list[str], str, str, Stat], None],
) -> None:
    groups: dict[str, list[tuple[str, Stat]]] = {}
    for stat in stats:  # sorted by name, so each group is too
        name, labels = series.of(stat.name)
        if name is not None:
            groups.setdefault(name, []).append((labels, stat))
    for name in sorted(groups):
        if name in seen:
            continue
        seen.add(name)
        out.append(f"# TYPE {name} {kind}\n")
        for labels, stat in groups[name]:
            lines(out, name, labels, stat)
        out.append("\n")


def _scalar_lines(out: list[str], name: str, labels: str, stat: Counter | Gauge) -> None:
    out.append(f"{name}{{{labels}}} {stat.value}\n")


def _histogram_lines(out: list[str], name: str, labels: str, histogram: Histogram) -> None:
    bucket = f'{name}_bucket{{{labels}{"," if labels else ""}le="'
    cumulative = 0
    for bound, count in zip(_bucket_bounds(histogram.bounds), histogram.counts, strict=False):
        cumulative += count
        out.append(f'{bucket}{bound}"}} {cumulative}\n')
    out.append(f'{bucket}+Inf"}} {histogram.count}\n')
    out.append(f"{name}_sum{{{labels}}} {format_number(histogram.sum)}\n")
    out.append(f"{name}_count{{{labels}}} {histogram.count}\n")
