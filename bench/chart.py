"""The results as one PNG: ratio to the floor per operation, and the scaling curves.

matplotlib is the `bench` extra (`make bench` installs it); it renders
off-screen (Agg), so the benchmark runs on a headless machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ChartError(Exception):
    """matplotlib is missing."""


def write_chart(results: Mapping[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ChartError(
            "matplotlib is missing: pip install -e '.[bench]' (make bench does it)"
        ) from exc

    operations = results.get("operations", {})
    scaling = results.get("scaling", {})
    figure, (ratios, by_first, by_scale) = plt.subplots(1, 3, figsize=(17, 5.5))
    figure.suptitle(f"Vitrine bench {results['timestamp']}", fontweight="bold")

    names = list(operations)
    values = [operations[n]["ratio_to_floor"] or 0.0 for n in names]
    bars = ratios.bar(names, values, color="#4c72b0")
    ratios.bar_label(bars, labels=[f"{v:.3g}" for v in values])
    ratios.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ratios.set_title("throughput as a share of the floor (1 = HTTP only)")
    positive = [v for v in values if v > 0]
    if positive and min(positive) < 0.05:
        # Ratios span orders of magnitude; on a linear axis the small ones vanish.
        ratios.set_yscale("log")
        ratios.set_ylim(min(positive) / 3, 1.5)
    else:
        ratios.set_ylim(0, max([1.05, *values]) * 1.1)
    ratios.tick_params(axis="x", labelrotation=20)

    points = scaling.get("first", [])
    firsts = [p["first"] for p in points]
    by_first.plot(firsts, [p["rps"] for p in points], marker="o", color="#4c72b0")
    by_first.set_xlabel("first (products per page)")
    by_first.set_ylabel("req/s", color="#4c72b0")
    by_first.set_xticks(firsts)
    cpu_axis = by_first.twinx()
    cpu_axis.plot(
        firsts, [p["cpu_us_per_request"] or 0 for p in points], marker="s", color="#dd8452"
    )
    cpu_axis.set_ylabel("server CPU µs/request", color="#dd8452")
    by_first.set_title("CategoryListing by page size")

    scales = scaling.get("scales", [])
    labels = [f"{p['scale']}\n{p['products']:,} products" for p in scales]
    scale_bars = by_scale.bar(labels, [p["rps"] for p in scales], color="#55a868")
    by_scale.bar_label(
        scale_bars, labels=[f"{p['cpu_us_per_request'] or 0:,.0f} µs CPU" for p in scales]
    )
    by_scale.set_ylabel("req/s")
    by_scale.set_title("CategoryListing (first=48) by dataset")

    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
