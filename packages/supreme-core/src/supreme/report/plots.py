"""Plots of a run, each saved as PNG and SVG under ``report/plots/`` (needs matplotlib).

Three figures per (dataset, model, scenario), whatever the number of metrics:

* ``…-overview``: the figure that compares. Left, forget-test (D'_f) against retain-test
  (D'_r) accuracy: each seed's point, faint, and per method the mean with the standard
  deviation over seeds as error bars; M_r (retrain) a black star, M_o (original) a grey
  cross, both labelled. Right, a methods × metrics heat map of the difference to retrain
  (method − retrain, per seed, mean over seeds; the tables' Δ), every summary key scaled by
  its own largest |Δ| so that each column spans the colour range; the colour's hue says
  the direction (above or below retrain), its strength how far, and each cell is
  annotated with the unscaled Δ. Methods in ranking order.
* ``…-distributions``: every summary key's distribution over seeds as small multiples in
  one figure, a panel per ``metric:key`` (4 a row), a row per method, each seed's value a
  point and the mean a bar (values averaged over forget targets per seed). Keys the metrics declare
  details (per-layer values...) are not drawn; they are in the report's details and in
  results.csv.
* ``…-time-quality``: unlearning time T_u against the distance to retrain (the ranking
  distance, see :mod:`supreme.report.ranking`), one point per method and seed; retrain
  sits at distance 0 and its own retraining time.

Every method has one colour and marker in every figure of a report
(:func:`supreme.report.palette.palette`, keyed by method name, colour-blind safe). The data
behind each plot comes from a plain function (``scatter_points``, ``accuracy_spread``,
``heatmap_data``, ``distribution_data``, ``time_quality_points``), so it can be checked
without drawing. matplotlib is imported only inside :func:`write_plots`, with the Agg
backend. File names are unique: a name that two figures would share gets ``-2``, ``-3``...
appended.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supreme.contracts.method import ORIGINAL
from supreme.report.palette import Style, palette
from supreme.report.ranking import DEFAULT_RANK_BY, REFERENCE, Ranking, rank_group, seed_distances
from supreme.report.tables import Seed, Summary, group_records, seed_means, summarise

FORGET = ("accuracy", "forget_test")
RETAIN = ("accuracy", "retain_test")
TIME = ("time", "unlearn_seconds")
LABELS = {REFERENCE: "M_r (retrain)", ORIGINAL: "M_o (original)"}


@dataclass
class Plot:
    """One figure of one (dataset, model, scenario), written as ``png`` and ``svg``."""

    group: tuple[str, str, str]
    kind: str  # "overview", "distributions" or "time-quality"
    title: str
    png: Path
    svg: Path
    alt: str = ""  # what the figure shows, for the HTML's alt text


@dataclass
class Point:
    method: str
    seed: Seed
    x: float
    y: float


@dataclass
class Heatmap:
    """Rows ``methods`` × columns ``keys``: ``delta[i][j]`` the mean per-seed difference
    method − retrain (None where not measured) and ``scaled[i][j]`` that divided by the
    column's largest |Δ| (in [-1, 1]; 0 for a column where every Δ is 0)."""

    methods: list[str]
    keys: list[tuple[str, str]]
    delta: list[list[float | None]]
    scaled: list[list[float | None]]


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


def accuracy_spread(points: Sequence[Point]) -> dict[str, tuple[float, float, float, float]]:
    """Per method: (mean x, std x, mean y, std y) over its seeds (std 0 for one seed)."""
    out = {}
    for method in dict.fromkeys(p.method for p in points):
        xs = [p.x for p in points if p.method == method]
        ys = [p.y for p in points if p.method == method]
        out[method] = (statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0,
                       statistics.fmean(ys), statistics.stdev(ys) if len(ys) > 1 else 0.0)
    return out


def heatmap_data(records: Sequence[dict[str, Any]], methods: Sequence[str] | None = None,
                 summary: Summary | None = None) -> Heatmap:
    """The heat map of one group: the Δ of the tables (:func:`supreme.report.tables.summarise`;
    ``summary``: the group's, when already computed) for every summary key retrain has,
    rows ``methods`` (default: every method but retrain, in first-seen order)."""
    if summary is None:
        summaries = summarise(records)
        if not summaries:
            return Heatmap([], [], [], [])
        (summary,) = summaries
    if methods is None:
        methods = [m for m in summary.methods if m != REFERENCE]
    methods = [m for m in methods if m != REFERENCE]
    keys = [k for k, cells in summary.rows.items()
            if REFERENCE in cells and any(m in cells and cells[m].deltas for m in methods)]
    delta: list[list[float | None]] = []
    for m in methods:
        line: list[float | None] = []
        for k in keys:
            cell = summary.rows[k].get(m)
            line.append(statistics.fmean(cell.deltas) if cell is not None and cell.deltas else None)
        delta.append(line)
    scaled: list[list[float | None]] = [[None] * len(keys) for _ in methods]
    for j in range(len(keys)):
        column = [(i, v) for i, d in enumerate(delta) if (v := d[j]) is not None]
        top = max((abs(v) for _, v in column), default=0.0)
        for i, v in column:
            scaled[i][j] = v / top if top > 0 else 0.0
    return Heatmap(list(methods), keys, delta, scaled)


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


def method_order(records: Sequence[dict[str, Any]], ranking: Ranking) -> list[str]:
    """Retrain, then the ranking's order, then the unranked methods (as the summary)."""
    methods = list(dict.fromkeys(r["method"] for r in records))
    order = [REFERENCE] if REFERENCE in methods else []
    order += [r.method for r in ranking.ranked] + list(ranking.unranked)
    return order + [m for m in methods if m not in order]


def short(value: float) -> str:
    """A signed number in at most about 6 characters (``+2e+06``, ``-0.0473``, ``+61.2``)."""
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:+.0e}"
    return f"{value:+.3g}"


def slug(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts)).strip("_")


def _kw(style: Style, method: str) -> dict[str, Any]:
    """Scatter keywords of a method: references larger, so that they stand out."""
    size = {REFERENCE: 170, ORIGINAL: 80}.get(method, 40)
    return {"color": style.colour, "marker": style.marker, "s": size}


def _save(fig: Any, folder: Path, stem: str, tight: bool = True) -> tuple[Path, Path]:
    # the suffix is appended, never substituted: a stem may hold dots (``layer.conv1``)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    folder.mkdir(parents=True, exist_ok=True)
    bbox = None
    if tight:  # measured once for both files (savefig's "tight" draws once more per file)
        bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    fig.savefig(png, dpi=100, bbox_inches=bbox, metadata={"Software": None})
    fig.savefig(svg, bbox_inches=bbox, metadata={"Date": None})
    return png, svg


def _forget_retain(ax: Any, points: Sequence[Point], styles: dict[str, Style]) -> None:
    """Per-seed points (SVG group ``points-<n>``, first-seen order) and per method the mean
    with std error bars (``mean-<n>``); M_r and M_o labelled."""
    methods = list(dict.fromkeys(p.method for p in points))
    spread = accuracy_spread(points)
    # the (large) reference markers under the methods' points, so that none is hidden
    order = [m for m in methods if m not in (REFERENCE, ORIGINAL)] + \
            [m for m in (ORIGINAL, REFERENCE) if m in methods]
    for m in order:
        own = [p for p in points if p.method == m]
        style = styles[m]
        reference = m in (REFERENCE, ORIGINAL)
        ax.scatter([p.x for p in own], [p.y for p in own], alpha=0.9 if reference else 0.45,
                   edgecolors="white", linewidths=0.5, gid=f"points-{methods.index(m)}",
                   zorder=2 if reference else 3, **_kw(style, m))
        mx, sx, my, sy = spread[m]
        ax.errorbar([mx], [my], xerr=[sx], yerr=[sy], fmt=style.marker, color=style.colour,
                    ecolor=style.colour, elinewidth=1.2, capsize=3,
                    markersize=13 if m == REFERENCE else 8, markeredgecolor="white",
                    label=LABELS.get(m, m), zorder=4, gid=f"mean-{methods.index(m)}")
        if reference:
            right = mx > 70  # the label inside the frame
            ax.annotate(LABELS[m].split()[0], (mx, my), textcoords="offset points",
                        xytext=(-7 if right else 7, -14), ha="right" if right else "left",
                        fontsize=9, fontweight="bold", color=style.colour)
    # the data's range, cut at [-4, 104]: accuracies are percentages, so an error bar past
    # 0 or 100 ends at the frame
    for axis, values in ((ax.set_xlim, [v for m in spread.values() for v in (m[0] - m[1], m[0] + m[1])]
                          + [p.x for p in points]),
                         (ax.set_ylim, [v for m in spread.values() for v in (m[2] - m[3], m[2] + m[3])]
                          + [p.y for p in points])):
        low, high = min(values), max(values)
        pad = max(2.0, 0.06 * (high - low))
        axis(max(-4.0, low - pad), min(104.0, high + pad))
    ax.set_xlabel("forget-test accuracy (%, D'_f)")
    ax.set_ylabel("retain-test accuracy (%, D'_r)")
    ax.set_title("Forget vs retain accuracy (mean ± std over seeds)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3,
              frameon=False)


def _heatmap(fig: Any, ax: Any, data: Heatmap) -> None:
    import numpy as np

    matrix = np.array([[math.nan if v is None else v for v in line] for line in data.scaled],
                      dtype=float)
    image = ax.imshow(matrix, cmap="PuOr_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(data.keys)), [f"{m}:{k}" for m, k in data.keys], rotation=40,
                  ha="right", fontsize=8)
    ax.set_yticks(range(len(data.methods)), [LABELS.get(m, m) for m in data.methods], fontsize=9)
    for i, line in enumerate(data.delta):
        for j, value in enumerate(line):
            if value is None:
                ax.text(j, i, "–", ha="center", va="center", fontsize=7, color="#555555")
                continue
            strong = abs(data.scaled[i][j] or 0.0) > 0.6
            ax.text(j, i, short(value), ha="center", va="center", fontsize=7,
                    color="white" if strong else "black")
    ax.set_title("Difference to retrain per key (method − retrain; colour: scaled per key)",
                 fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, ticks=[-1, 0, 1])
    bar.ax.set_yticklabels(["below\nretrain", "= retrain", "above\nretrain"], fontsize=8)


def _distributions(plt: Any, rows: Sequence[dict[str, Any]], keys: Sequence[tuple[str, str]],
                   methods: Sequence[str], styles: dict[str, Style]) -> Any:
    """Small multiples: a panel per key (4 a row, one shared method axis), a line per method
    with each seed's value a point and the mean a bar. Per panel one collection of points
    (SVG group ``panel<p>-points``) and one of means (``panel<p>-means``), each coloured per
    method, and a fixed layout (no tight bounding box): the figure's cost grows little
    with its panels."""
    from matplotlib.ticker import MaxNLocator

    columns = min(len(keys), 4)
    lines = -(-len(keys) // columns)
    label = 0.075 * max(len(LABELS.get(m, m)) for m in methods) + 0.25  # inches, y labels
    panel_w, panel_h = 2.9, 0.22 * len(methods) + 0.55
    gap_w, gap_h, top = 0.15, 0.62, 0.45
    width = label + columns * panel_w + (columns - 1) * gap_w + 0.15
    height = top + lines * panel_h + (lines - 1) * gap_h + 0.4
    fig, axes = plt.subplots(lines, columns, figsize=(width, height), squeeze=False, sharey=True)
    fig.subplots_adjust(left=label / width, right=1 - 0.15 / width, top=1 - top / height,
                        bottom=0.4 / height, wspace=gap_w / panel_w, hspace=gap_h / panel_h)
    means = seed_means(rows)
    for panel, (ax, (metric, key)) in enumerate(zip(axes.flat, keys, strict=False)):
        xs: list[float] = []
        ys: list[float] = []
        colours: list[str] = []
        bars: list[tuple[float, int, str]] = []
        for i, m in enumerate(methods):
            values = [v for _, v in sorted(means.get((metric, key, m), {}).items())]
            if not values:
                continue
            n = len(values)
            xs += values
            ys += [i] if n == 1 else [i - 0.22 + 0.44 * j / (n - 1) for j in range(n)]
            colours += [styles[m].colour] * n
            bars.append((statistics.fmean(values), i, styles[m].colour))
        ax.scatter(xs, ys, c=colours, s=14, alpha=0.8, linewidths=0, zorder=3,
                   gid=f"panel{panel}-points")
        ax.scatter([b[0] for b in bars], [b[1] for b in bars], c=[b[2] for b in bars], marker="|",
                   s=150, linewidths=2.2, zorder=4, gid=f"panel{panel}-means")
        ax.set_title(f"{metric}:{key}", fontsize=8.5, pad=3)
        ax.grid(True, axis="x", alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(labelsize=7.5, length=2)
    axes[0][0].set_yticks(range(len(methods)), [LABELS.get(m, m) for m in methods])
    axes[0][0].set_ylim(len(methods) - 0.5, -0.5)  # first method on top
    for ax in axes.flat[len(keys):]:
        ax.set_visible(False)
    return fig


def _time_quality(ax: Any, points: Sequence[Point], styles: dict[str, Style]) -> None:
    """One scatter collection per method, its SVG group id ``points-<n>``."""
    methods = list(dict.fromkeys(p.method for p in points))
    order = [m for m in methods if m not in (REFERENCE, ORIGINAL)] + \
            [m for m in (ORIGINAL, REFERENCE) if m in methods]
    for m in order:
        own = [p for p in points if p.method == m]
        ax.scatter([p.x for p in own], [p.y for p in own], label=LABELS.get(m, m), alpha=0.85,
                   edgecolors="white", linewidths=0.5, gid=f"points-{methods.index(m)}",
                   zorder=2 if m in (REFERENCE, ORIGINAL) else 3, **_kw(styles[m], m))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best", frameon=True)


def _alt_overview(name: str, spread: dict[str, tuple[float, float, float, float]],
                  heat: Heatmap) -> str:
    parts = [f"Overview of {name}."]
    if spread:
        described = "; ".join(f"{LABELS.get(m, m)} {v[0]:.1f}% forget, {v[2]:.1f}% retain"
                              for m, v in spread.items())
        parts.append("Left: forget-test against retain-test accuracy, mean ± std over seeds: "
                     f"{described}.")
    if heat.keys:
        parts.append(f"Right: heat map of each method's difference to retrain on {len(heat.keys)} "
                     f"metric keys, rows in ranking order ({', '.join(heat.methods)}), each key "
                     "scaled by its own range.")
    return " ".join(parts)


def write_plots(records: Sequence[dict[str, Any]], out_dir: str | Path,
                rank_by: Sequence[tuple[str, str]] = DEFAULT_RANK_BY, *,
                rankings: Sequence[Ranking] = (), methods: Sequence[str] = (),
                tables: Sequence[Summary] = ()) -> list[Plot]:
    """Draw the figures of every group into ``out_dir``; returns them in drawing order.

    ``rankings``: the report's rankings (each group's methods are drawn in its order;
    ranked here when missing); ``methods``: every method of the report, for the palette
    (default: those of ``records``); ``tables``: the groups' summaries of ``records``
    (:func:`~supreme.report.tables.summarise`; computed here when missing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    plots: list[Plot] = []
    used: set[str] = set()
    styles = palette([*methods, *(r["method"] for r in records)])
    by_group = {(g.dataset, g.model, g.scenario): g for g in rankings}
    table_of = {(t.dataset, t.model, t.scenario): t for t in tables}

    def unique(stem: str) -> str:
        """``stem``, or ``stem-2``, ``stem-3``...: two figures never share a file."""
        name, n = stem, 1
        while name.lower() in used:  # also on case-insensitive file systems
            n += 1
            name = f"{stem}-{n}"
        used.add(name.lower())
        return name

    def save(fig: Any, group: tuple[str, str, str], kind: str, title: str, alt: str) -> None:
        png, svg = _save(fig, out, unique(slug(*group, kind)), tight=kind != "distributions")
        plt.close(fig)
        plots.append(Plot(group, kind, title, png, svg, alt))

    with matplotlib.rc_context({"svg.hashsalt": "supreme", "figure.max_open_warning": 0}):
        for group, rows in group_records(records).items():
            name = " / ".join(group)
            ranking = by_group.get(group) or rank_group(group, rows, rank_by)
            order = method_order(rows, ranking)

            points = scatter_points(rows)
            heat = heatmap_data(rows, [m for m in order if m != REFERENCE], table_of.get(group))
            if points or heat.keys:
                panels = [p for p in (points, heat.keys) if p]
                width = (5.4 if points else 0) + (0.62 * len(heat.keys) + 3.2 if heat.keys else 0)
                height = max(4.6, 0.32 * len(heat.methods) + 2.6)
                fig = plt.figure(figsize=(width, height))
                ratios = [5.4] * bool(points) + [0.62 * len(heat.keys) + 3.2] * bool(heat.keys)
                grid = fig.add_gridspec(1, len(panels), width_ratios=ratios, wspace=0.3)
                if points:
                    _forget_retain(fig.add_subplot(grid[0, 0]), points, styles)
                if heat.keys:
                    _heatmap(fig, fig.add_subplot(grid[0, len(panels) - 1]), heat)
                fig.suptitle(f"{name}: how close each method comes to retrain", fontsize=11)
                save(fig, group, "overview", f"Overview — {name}",
                     _alt_overview(name, accuracy_spread(points), heat))

            keys = list(dict.fromkeys((r["metric"], r["key"]) for r in rows))
            if keys:
                fig = _distributions(plt, rows, keys, order, styles)
                fig.suptitle(f"{name}: every summary key over seeds (point: a seed, bar: the mean)",
                             fontsize=10, y=1 - 0.12 / fig.get_figheight())
                save(fig, group, "distributions", f"Distributions over seeds — {name}",
                     f"Small multiples for {name}: one panel per metric key ({len(keys)}: "
                     f"{', '.join(f'{m}:{k}' for m, k in keys)}), one line per method "
                     f"({', '.join(order)}), each seed's value a point and the mean a bar.")

            quality = time_quality_points(rows, rank_by)
            if quality:
                fig, ax = plt.subplots(figsize=(5.6, 4.4))
                _time_quality(ax, quality, styles)
                ax.set_xlabel("unlearning time T_u (s)")
                ax.set_ylabel("distance to retrain (ranking distance)")
                title = f"Time vs distance to retrain, one point per method and seed — {name}"
                ax.set_title(title, fontsize=9)
                save(fig, group, "time-quality", title,
                     f"Scatter plot for {name}: unlearning time in seconds (x) against the "
                     "distance to retrain (y), one point per method and seed; retrain at "
                     "distance 0.")
    return plots
