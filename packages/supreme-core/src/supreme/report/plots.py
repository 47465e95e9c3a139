"""Plots of a run, each saved as PNG and SVG under ``report/plots/`` (needs matplotlib).

Per (dataset, model, scenario):

* ``…-dist-METRIC``: the distributions over seeds of a metric's summary keys, one panel
  per key (small multiples), a box per method with every seed's value as a point (values
  averaged over forget targets per seed). Keys the metric declares details (per-layer
  values...) are not drawn; they are in the report's details section and results.csv.
* ``…-forget-retain``: forget accuracy (D'_f) against retain accuracy (D'_r), one point
  per method and seed; retrain drawn as black stars, original as grey crosses.
* ``…-time-quality``: unlearning time T_u against the distance to retrain (the ranking
  distance, see :mod:`supreme.report.ranking`), one point per method and seed; retrain
  sits at distance 0 and its own retraining time.

The data behind each plot comes from a plain function (``distribution_data``,
``scatter_points``, ``time_quality_points``), so it can be checked without drawing.
matplotlib is imported only inside :func:`write_plots`, with the Agg backend. File names
are unique: a name that two figures would share gets ``-2``, ``-3``... appended.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supreme.contracts.method import ORIGINAL
from supreme.report.ranking import DEFAULT_RANK_BY, REFERENCE, seed_distances
from supreme.report.tables import Seed, group_records, seed_means

FORGET = ("accuracy", "forget_test")
RETAIN = ("accuracy", "retain_test")
TIME = ("time", "unlearn_seconds")


@dataclass
class Plot:
    """One figure of one (dataset, model, scenario), written as ``png`` and ``svg``."""

    group: tuple[str, str, str]
    kind: str  # "distribution", "forget-retain" or "time-quality"
    title: str
    png: Path
    svg: Path


@dataclass
class Point:
    method: str
    seed: Seed
    x: float
    y: float


def distribution_data(records: Sequence[dict[str, Any]], metric: str, key: str
                      ) -> dict[str, list[float]]:
    """``{method: [value per seed, in seed order]}`` for one metric key of one group."""
    means = seed_means(records)
    methods = dict.fromkeys(r["method"] for r in records)
    return {m: [v for _, v in sorted(means[(metric, key, m)].items())]
            for m in methods if (metric, key, m) in means}


def scatter_points(records: Sequence[dict[str, Any]]) -> list[Point]:
    """One point per method and seed: x = forget accuracy, y = retain accuracy (percent);
    seeds with only one of the two are left out."""
    means = seed_means(records)
    points = []
    for method in dict.fromkeys(r["method"] for r in records):
        forget = means.get((*FORGET, method), {})
        retain = means.get((*RETAIN, method), {})
        points += [Point(method, s, forget[s], retain[s]) for s in sorted(set(forget) & set(retain))]
    return points


def time_quality_points(records: Sequence[dict[str, Any]],
                        rank_by: Sequence[tuple[str, str]] = DEFAULT_RANK_BY) -> list[Point]:
    """One point per method and seed: x = unlearning seconds, y = distance to retrain
    (retrain itself at distance 0)."""
    means = seed_means(records)
    keys, distances = seed_distances(records, rank_by)
    if not keys:
        return []
    reference_seeds = set.intersection(*(set(means[(m, k, REFERENCE)]) for m, k in keys))
    distances = {REFERENCE: dict.fromkeys(sorted(reference_seeds), 0.0), **distances}
    points = []
    for method in dict.fromkeys(r["method"] for r in records):
        seconds = means.get((*TIME, method), {})
        by_seed = distances.get(method, {})
        points += [Point(method, s, seconds[s], by_seed[s]) for s in sorted(set(seconds) & set(by_seed))]
    return points


def slug(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts)).strip("_")


def _style(methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Marker, colour and size per method: retrain and original stand out."""
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#17becf", "#bcbd22"]
    others = [m for m in methods if m not in (REFERENCE, ORIGINAL)]
    style = {m: {"color": palette[i % len(palette)], "marker": "o", "s": 36}
             for i, m in enumerate(others)}
    style[REFERENCE] = {"color": "black", "marker": "*", "s": 160}
    style[ORIGINAL] = {"color": "#7f7f7f", "marker": "X", "s": 70}
    return style


def _save(fig: Any, folder: Path, stem: str) -> tuple[Path, Path]:
    # the suffix is appended, never substituted: a stem may hold dots (``layer.conv1``)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    folder.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, bbox_inches="tight", metadata={"Date": None})
    return png, svg


def _distributions(plt: Any, rows: Sequence[dict[str, Any]], metric: str, keys: Sequence[str],
                   style: dict[str, dict[str, Any]]) -> Any:
    """One figure for a metric: a panel per key (small multiples, at most 3 a row), each a
    box per method over seeds with every seed's value as a point."""
    columns = min(len(keys), 3)
    lines = -(-len(keys) // columns)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    width = max(3.6, 0.55 * len(methods) + 1.4)
    fig, axes = plt.subplots(lines, columns, figsize=(width * columns, 3.4 * lines),
                             squeeze=False)
    for panel, (ax, key) in enumerate(zip(axes.flat, keys, strict=False)):  # spare panels
        data = distribution_data(rows, metric, key)
        labels = list(data)
        box = ax.boxplot([data[m] for m in labels], widths=0.5, patch_artist=True,
                         showfliers=False, medianprops={"color": "black"})
        for patch, m in zip(box["boxes"], labels, strict=True):
            patch.set_facecolor(style[m]["color"])
            patch.set_alpha(0.25)
        for i, m in enumerate(labels, start=1):
            values = data[m]
            n = len(values)
            offsets = [0.0] if n == 1 else [-0.15 + 0.3 * j / (n - 1) for j in range(n)]
            ax.scatter([i + o for o in offsets], values, color=style[m]["color"], s=18,
                       zorder=3, gid=f"panel{panel}-points-{i - 1}")
        ax.set_xticks(range(1, len(labels) + 1), labels,
                      rotation=30 if len(labels) > 4 else 0,
                      ha="right" if len(labels) > 4 else "center")
        ax.set_title(key, fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    for ax in axes.flat[len(keys):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _scatter(ax: Any, points: Sequence[Point], style: dict[str, dict[str, Any]]) -> None:
    """One scatter collection per method, its SVG group id ``points-<n>``."""
    methods = list(dict.fromkeys(p.method for p in points))
    # the (large) reference markers under the methods' points, so that none is hidden
    order = [m for m in methods if m not in (REFERENCE, ORIGINAL)] + \
            [m for m in (ORIGINAL, REFERENCE) if m in methods]
    for m in order:
        own = [p for p in points if p.method == m]
        ax.scatter([p.x for p in own], [p.y for p in own], label=m, alpha=0.85,
                   edgecolors="white", linewidths=0.5, gid=f"points-{methods.index(m)}",
                   zorder=2 if m in (REFERENCE, ORIGINAL) else 3, **style[m])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best", frameon=True)


def write_plots(records: Sequence[dict[str, Any]], out_dir: str | Path,
                rank_by: Sequence[tuple[str, str]] = DEFAULT_RANK_BY) -> list[Plot]:
    """Draw every plot of every group into ``out_dir``; returns them in drawing order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    plots: list[Plot] = []
    used: set[str] = set()

    def unique(stem: str) -> str:
        """``stem``, or ``stem-2``, ``stem-3``...: two figures never share a file."""
        name, n = stem, 1
        while name.lower() in used:  # also on case-insensitive file systems
            n += 1
            name = f"{stem}-{n}"
        used.add(name.lower())
        return name

    with matplotlib.rc_context({"svg.hashsalt": "supreme", "figure.max_open_warning": 0}):
        for group, rows in group_records(records).items():
            name = "/".join(group)
            methods = list(dict.fromkeys(r["method"] for r in rows))
            style = _style(methods)
            keys_of: dict[str, list[str]] = {}
            for metric, key in dict.fromkeys((r["metric"], r["key"]) for r in rows):
                keys_of.setdefault(metric, []).append(key)
            for metric, keys in keys_of.items():
                fig = _distributions(plt, rows, metric, keys, style)
                title = f"{metric} over seeds ({', '.join(keys)}) — {name}"
                fig.suptitle(f"{metric} over seeds — {name}", fontsize=10)
                png, svg = _save(fig, out, unique(slug(*group, "dist", metric)))
                plt.close(fig)
                plots.append(Plot(group, "distribution", title, png, svg))

            for kind, points, xlabel, ylabel, what in (
                ("forget-retain", scatter_points(rows), "forget accuracy (%, D'_f)",
                 "retain accuracy (%, D'_r)", "Forget vs retain accuracy"),
                ("time-quality", time_quality_points(rows, rank_by), "unlearning time T_u (s)",
                 "distance to retrain (ranking distance)", "Time vs distance to retrain"),
            ):
                if not points:
                    continue
                fig, ax = plt.subplots(figsize=(5.6, 4.4))
                _scatter(ax, points, style)
                ax.set_xlabel(xlabel)
                ax.set_ylabel(ylabel)
                title = f"{what}, one point per method and seed — {name}"
                ax.set_title(title, fontsize=9)
                png, svg = _save(fig, out, unique(slug(*group, kind)))
                plt.close(fig)
                plots.append(Plot(group, kind, title, png, svg))
    return plots
