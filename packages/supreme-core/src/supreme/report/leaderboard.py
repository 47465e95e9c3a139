"""``leaderboard.md``: the run's results in the format of the community leaderboard.

One section per (scenario, dataset, model), and in the random scenario per forget size
too (forgetting 1% and 10% of the data are different tasks), titled like the reference's
``community/leaderboard.md``::

    ## Full-class unlearning: digits / resnet18
    ## Random-sample unlearning: cifar10 / vit (forget 1%)

Columns: Method | Forget acc. | Retain acc. | MIA | Time (s) | Seeds (T/U/E) | Model link
(plus ``Relearn (steps)`` from ``relearn_time:steps`` and ``U-LiRA acc.`` from
``ulira:balanced_accuracy`` after Time when a section has them,
and ``Forget quality`` from the grid metric ``forget_quality``, one value per section
averaged over its targets, when the run has it),
from ``accuracy:forget_test``, ``accuracy:retain_test`` (percent), ``mia:forget_train``
(fraction) and ``time:unlearn_seconds``, each mean ± std over seeds after averaging the
forget targets per seed; "–" where the metric was not measured. The reference rows come
first ("Retrain (reference)", "Original (no unlearning)"), then the other methods in the
order of the ranking by distance to retrain. Model link is "–": the models stay in the
local store (the ``artifact`` column of ``results.csv``); add a link when submitting.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from supreme.contracts.method import ORIGINAL, RETRAIN
from supreme.report import grid as grid_mod
from supreme.report.ranking import DEFAULT_RANK_BY, rank_group
from supreme.report.tables import seed_counts, seed_means, seed_of

SCENARIO_TITLES = {"fullclass": "Full-class unlearning", "subclass": "Sub-class unlearning",
                   "random": "Random-sample unlearning"}
#: (header, metric, key, format) of the value columns.
COLUMNS = (
    ("Forget acc.", "accuracy", "forget_test", ".2f"),
    ("Retain acc.", "accuracy", "retain_test", ".2f"),
    ("MIA", "mia", "forget_train", ".3f"),
    ("Time (s)", "time", "unlearn_seconds", ".2f"),
)
#: columns added after those when a section's records have the metric (the community
#: format has none of them): the stronger evidence of forgetting (issue 19)
EXTRA_COLUMNS = (
    ("Relearn (steps)", "relearn_time", "steps", ".0f"),
    ("U-LiRA acc.", "ulira", "balanced_accuracy", ".3f"),
)
REFERENCE_ROWS = ((RETRAIN, "Retrain (reference)"), (ORIGINAL, "Original (no unlearning)"))
DASH = "–"


def forget_size(target: str) -> str:
    """``"0.01"`` -> ``"forget 1%"``; ``"50"`` -> ``"forget 50 samples"``."""
    try:
        value = float(target)
    except ValueError:
        return f"forget {target}"
    if 0 < value < 1:
        return f"forget {value * 100:g}%"
    return f"forget {value:g} samples"


def sections(records: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """``[(title, records)]``: per (scenario, dataset, model), and per target when random."""
    found: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in records:
        key: tuple[str, ...] = (r["scenario"], r["dataset"], r["model"])
        if r["scenario"] == "random":
            key += (str(r["target"]),)
        found.setdefault(key, []).append(r)
    out = []
    for key, rows in found.items():
        scenario, dataset, model = key[:3]
        title = f"{SCENARIO_TITLES.get(scenario, scenario)}: {dataset} / {model}"
        if len(key) == 4:
            title += f" ({forget_size(key[3])})"
        out.append((title, rows))
    return out


def value_text(values: Sequence[float], fmt: str) -> str:
    """``mean ± std`` over seeds (the mean alone for one seed; "–" for none)."""
    if not values:
        return DASH
    mean = statistics.fmean(values)
    if len(values) == 1:
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {format(statistics.stdev(values), fmt)}"


def _name(text: str) -> str:
    return text.replace("|", "\\|")


def section(title: str, records: Sequence[dict[str, Any]],
            rank_by: Sequence[tuple[str, str]] = DEFAULT_RANK_BY,
            grid: Sequence[dict[str, Any]] = ()) -> list[str]:
    means = seed_means(records)
    methods = list(dict.fromkeys(r["method"] for r in records))
    first = records[0]
    ranking = rank_group((first["dataset"], first["model"], first["scenario"]), records, rank_by)
    order = [r.method for r in ranking.ranked] + ranking.unranked
    rows = [(m, label) for m, label in REFERENCE_ROWS if m in methods]
    rows += [(m, _name(m)) for m in order if m not in dict(REFERENCE_ROWS)]
    targets = ", ".join(dict.fromkeys(str(r["target"]) for r in records))
    present = {(r["metric"], r["key"]) for r in records}
    columns = [*COLUMNS, *(c for c in EXTRA_COLUMNS if (c[1], c[2]) in present)]
    first_target = str(first["target"]) if first["scenario"] == "random" else None
    grid_values = grid_mod.column_values(grid, first["scenario"], first["dataset"], first["model"],
                                         first_target)
    grid_columns = [c for c in grid_mod.LEADERBOARD_COLUMNS
                    if any(k[:2] == (c[1], c[2]) for k in grid_values)]
    out = [f"## {title}", "", f"Targets: {targets}.", "",
           "| Method | " + " | ".join(c[0] for c in [*columns, *grid_columns])
           + " | Seeds (T/U/E) | Model link |",
           "|---|" + "---|" * (len(columns) + len(grid_columns) + 2)]
    for method, label in rows:
        cells = [value_text(list(means.get((metric, key, method), {}).values()), fmt)
                 for _, metric, key, fmt in columns]
        cells += [DASH if (metric, key, method) not in grid_values
                  else format(grid_values[(metric, key, method)], fmt)
                  for _, metric, key, fmt in grid_columns]
        i, j, k = seed_counts(seed_of(r) for r in records if r["method"] == method)
        out.append(f"| {label} | " + " | ".join(cells) + f" | {i}/{j}/{k} | {DASH} |")
    out.append("")
    return out


def leaderboard(records: Sequence[dict[str, Any]],
                rank_by: Sequence[tuple[str, str]] = DEFAULT_RANK_BY,
                grid: Sequence[dict[str, Any]] = ()) -> str:
    experiments = ", ".join(dict.fromkeys(str(r.get("experiment", "")) for r in records))
    out = ["# Leaderboard", "",
           f"Experiment: {experiments or DASH}. Accuracies in percent, MIA as the fraction of "
           "the forget set called member, time in seconds; mean ± std over seeds (values first "
           "averaged over forget targets per seed); Seeds (T/U/E): training seeds, unlearning "
           "seeds per training seed, evaluation seeds per unlearning seed; – when not "
           "measured. Methods are ordered by distance to retrain (see ranking.csv)."
           + (" Relearn (steps): SGD steps on the forget set until its accuracy is back near "
              "the original model's (closer to retrain's is better)."
              if any(r["metric"] == "relearn_time" for r in records) else "")
           + (" U-LiRA acc.: balanced accuracy of the per-example likelihood-ratio attack "
              "telling the method's model from retrain's on the forget set (0.5 at best)."
              if any(r["metric"] == "ulira" for r in records) else "")
           + (" Forget quality: the NeurIPS 2023 challenge's score over the seeds, one value "
              "per section (1 at best; read against retrain's, see tables.md)."
              if any(r["metric"] == "forget_quality" for r in grid) else ""), ""]
    for title, rows in sections(records):
        out += section(title, rows, rank_by, grid)
    return "\n".join(out)
