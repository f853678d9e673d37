"""``/stats`` in Envoy's text and JSON forms, and the selection (``filter`` regex, ``usedonly``) every form shares.

Text: counters and gauges as ``name: value`` sorted by name, then histograms as
``name: P0(interval,cumulative) P25(...) ... P100(...)``. We keep no interval histograms (Envoy's interval is the
time since its last stats flush), so the interval value is always ``nan`` as Envoy prints an empty interval.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.stats.quantiles import SUPPORTED_QUANTILES, estimate
from gateway.stats.store import Counter, Gauge, Histogram, Store


@dataclass(frozen=True, slots=True)
class Selection:
    """Which stats a request asks for: names matching ``filter`` anywhere (Envoy's regex search), used ones only."""

    filter: re.Pattern[str] | None = None
    used_only: bool = False

    @classmethod
    def parse(cls, pattern: str | None, used_only: bool) -> Selection:
        """ValueError with a clear message for a regex that does not compile (the admin answers 400)."""
        if not pattern:
            return cls(None, used_only)
        try:
            return cls(re.compile(pattern), used_only)
        except re.error as exc:
            raise ValueError(f"Invalid regex: {pattern!r}: {exc}") from None

    def wants(self, stat: Counter | Gauge | Histogram) -> bool:
        if self.used_only and not stat.used:
            return False
        return self.filter is None or self.filter.search(stat.name) is not None


ALL = Selection()


def selected_scalars(store: Store, selection: Selection) -> list[Counter | Gauge]:
    """Counters and gauges together, sorted by name."""
    stats: list[Counter | Gauge] = [s for s in list(store.counters.values()) if selection.wants(s)]
    stats.extend(s for s in list(store.gauges.values()) if selection.wants(s))
    stats.sort(key=lambda s: s.name)
    return stats


def selected_histograms(store: Store, selection: Selection) -> list[Histogram]:
    return sorted((h for h in list(store.histograms.values()) if selection.wants(h)), key=lambda h: h.name)


def format_number(value: float) -> str:
    """Whole numbers without a fraction, others in the shortest form that reads back (as Envoy's fmt ``{}``)."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render_text(store: Store, selection: Selection = ALL) -> str:
    lines = [f"{stat.name}: {stat.value}" for stat in selected_scalars(store, selection)]
    lines.extend(f"{h.name}: {_histogram_summary(h)}" for h in selected_histograms(store, selection))
    return "".join(line + "\n" for line in lines)


def _histogram_summary(histogram: Histogram) -> str:
    values = estimate(histogram)
    if values is None:
        return "No recorded values"
    return " ".join(
        f"P{format_number(q)}(nan,{format_number(v)})" for q, v in zip(SUPPORTED_QUANTILES, values, strict=True)
    )


def render_json(store: Store, selection: Selection = ALL) -> str:
    entries: list[dict[str, object]] = [
        {"name": stat.name, "value": stat.value} for stat in selected_scalars(store, selection)
    ]
    histograms = selected_histograms(store, selection)
    if histograms:
        entries.append(
            {
                "histograms": {
                    "supported_quantiles": list(SUPPORTED_QUANTILES),
                    "computed_quantiles": [{"name": h.name, "values": list(_json_quantiles(h))} for h in histograms],
                }
            }
        )
    return json.dumps({"stats": entries}, separators=(",", ":"))


def _json_quantiles(histogram: Histogram) -> Iterator[dict[str, float | None]]:
    values = estimate(histogram)
    for index in range(len(SUPPORTED_QUANTILES)):
        yield {"interval": None, "cumulative": None if values is None else values[index]}
