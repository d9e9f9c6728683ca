"""The plot: latency percentiles of the step load against the offered rate, every mode."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render straight to the PNG

import matplotlib.pyplot as plt

COLOURS = {"microservices": "tab:red", "in_process": "tab:blue"}
STYLES = {"p50_ms": (":", "p50"), "p95_ms": ("--", "p95"), "p99_ms": ("-", "p99")}


def plot_steps(modes: Mapping[str, Mapping[str, Any]], path: Path, title: str) -> Path:
    figure, axes = plt.subplots(figsize=(9, 5.5), dpi=110)
    try:
        for index, (mode, figures) in enumerate(modes.items()):
            steps = sorted(figures.get("steps") or [], key=lambda s: s["offered"])
            colour = COLOURS.get(mode, "tab:gray")
            for field, (style, label) in STYLES.items():
                points = [(s["offered"], s[field]) for s in steps if s.get(field) is not None]
                if points:
                    xs, ys = zip(*points, strict=True)
                    axes.plot(xs, ys, style, marker="o", color=colour, label=f"{mode} {label}")
            knee = (figures.get("knee") or {}).get("offered_rps")
            if knee is not None:
                axes.axvline(knee, color=colour, alpha=0.3, linewidth=6)
                axes.annotate(
                    f"knee {knee:g}/s",
                    (knee, 0.97 - 0.05 * index),
                    xycoords=("data", "axes fraction"),
                    color=colour,
                    ha="center",
                    va="top",
                    fontsize=8,
                )
        axes.set_xlabel("offered load: mix arrivals per second (open loop)")
        axes.set_ylabel("latency per action (ms)")
        axes.set_yscale("log")
        axes.set_title(title, fontsize=10)
        axes.grid(True, which="both", alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=8, ncols=2)
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path
