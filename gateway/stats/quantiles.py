"""Quantiles estimated from a histogram's buckets, as Envoy prints them in ``/stats`` (P0 .. P100).

Within a bucket the samples are assumed evenly spread, and the ends are clamped to the recorded min and max, so
P0 and P100 are exact and a single-valued histogram reports that value at every quantile.
"""

from __future__ import annotations

from gateway.stats.store import Histogram

# Envoy's supported quantiles, in percent.
SUPPORTED_QUANTILES: tuple[float, ...] = (0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100)


def estimate(histogram: Histogram, percents: tuple[float, ...] = SUPPORTED_QUANTILES) -> list[float] | None:
    """One value per percent, or None when nothing was recorded."""
    total = histogram.count
    if total == 0:
        return None
    bounds, counts = histogram.bounds, histogram.counts
    low_clamp, high_clamp = histogram.min, histogram.max
    values: list[float] = []
    for percent in percents:
        rank = percent / 100 * total
        below = 0
        for index, in_bucket in enumerate(counts):
            if in_bucket == 0 or below + in_bucket < rank:
                below += in_bucket
                continue
            low = max(bounds[index - 1] if index > 0 else 0.0, low_clamp)
            high = min(bounds[index] if index < len(bounds) else high_clamp, high_clamp)
            # The interpolation is approximate anyway: round off float noise (119.92000000000002).
            values.append(round(low + (high - low) * (rank - below) / in_bucket, 6))
            break
    return values
