"""Per (dataset, model, scenario) tables of every method's metrics over seeds.

For each metric key and method the table shows the mean ± standard deviation over seeds,
and the difference to the retrained reference computed per seed, as the paper's tables
do: for every seed triple (s_t, s_u, s_e) the values are first averaged over forget
targets, then Δ = method − retrain per seed, then mean ± std over seeds with a 95%
bootstrap confidence interval of the mean. The seed counts I/J/K are stated with each
table. Only the standard library and NumPy are used.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supreme.errors import UsageError
from supreme.store import atomic_write_bytes

Seed = tuple[int, int, int]
GROUP_KEYS = ("dataset", "model", "scenario")
CSV_COLUMNS = ("experiment", "dataset", "model", "scenario", "target", "train_seed",
               "unlearn_seed", "eval_seed", "method", "metric", "key", "value")
BOOTSTRAP_SAMPLES = 10_000


def load_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/results.jsonl``."""
    path = Path(run_dir) / "results.jsonl"
    if not path.is_file():
        raise UsageError(
            f"{path} does not exist",
            "Pass the run directory of a finished `supreme run` (output_dir/name).",
        )
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise UsageError(f"{path}:{number} is not a JSON record ({exc})",
                             "Rerun `supreme run` to rewrite the results file.") from exc
    return records


@dataclass
class Cell:
    """One table cell: a method's values of one metric key over seeds."""

    values: list[float]
    deltas: list[float] | None = None
    ci: tuple[float, float] | None = None  # 95% bootstrap CI of the mean delta (or value)


@dataclass
class Summary:
    """One table: rows (metric, key) x columns (methods)."""

    dataset: str
    model: str
    scenario: str
    methods: list[str]
    rows: dict[tuple[str, str], dict[str, Cell]] = field(default_factory=dict)
    seeds: tuple[int, int, int] = (0, 0, 0)  # I, J, K
    targets: list[str] = field(default_factory=list)


def seed_counts(seeds: Iterable[Seed]) -> tuple[int, int, int]:
    """(I, J, K): training seeds, unlearning seeds per training seed, evaluation seeds per
    unlearning seed (the largest count found)."""
    seeds = set(seeds)
    trains = {s[0] for s in seeds}
    per_train = defaultdict(set)
    per_unlearn = defaultdict(set)
    for t, u, e in seeds:
        per_train[t].add(u)
        per_unlearn[(t, u)].add(e)
    return (len(trains), max((len(v) for v in per_train.values()), default=0),
            max((len(v) for v in per_unlearn.values()), default=0))


def bootstrap_ci(values: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean (seeded, so reports are reproducible)."""
    import numpy as np

    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return (float(data.mean()), float(data.mean())) if len(data) else (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(BOOTSTRAP_SAMPLES, len(data)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def summarise(records: Sequence[dict[str, Any]]) -> list[Summary]:
    """One :class:`Summary` per (dataset, model, scenario), in first-seen order."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in GROUP_KEYS), []).append(r)
    return [_summary(key, rows) for key, rows in groups.items()]


def _summary(key: tuple[str, ...], records: list[dict[str, Any]]) -> Summary:
    methods = list(dict.fromkeys(r["method"] for r in records))
    # per (metric, key, method, seed): the values of every target, averaged below
    per_seed: dict[tuple[str, str, str], dict[Seed, list[float]]] = defaultdict(lambda: defaultdict(list))
    seeds: set[Seed] = set()
    for r in records:
        seed = (r["train_seed"], r["unlearn_seed"], r["eval_seed"])
        seeds.add(seed)
        per_seed[(r["metric"], r["key"], r["method"])][seed].append(float(r["value"]))
    summary = Summary(*key, methods=methods, seeds=seed_counts(seeds),
                      targets=list(dict.fromkeys(r["target"] for r in records)))
    row_keys = list(dict.fromkeys((r["metric"], r["key"]) for r in records))
    for metric, k in row_keys:
        reference = {s: statistics.fmean(v) for s, v in per_seed.get((metric, k, "retrain"), {}).items()}
        cells: dict[str, Cell] = {}
        for method in methods:
            by_seed = {s: statistics.fmean(v) for s, v in per_seed.get((metric, k, method), {}).items()}
            if not by_seed:
                continue
            ordered = sorted(by_seed)
            values = [by_seed[s] for s in ordered]
            deltas = None
            if reference and method != "retrain":
                shared = [s for s in ordered if s in reference]
                deltas = [by_seed[s] - reference[s] for s in shared] or None
            cells[method] = Cell(values, deltas, bootstrap_ci(deltas if deltas else values))
        summary.rows[(metric, k)] = cells
    return summary


def _mean_std(values: Sequence[float]) -> str:
    if not values:
        return ""
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.4g}"
    return f"{mean:.4g} ± {statistics.stdev(values):.2g}"


def cell_text(cell: Cell | None, with_ci: bool = True) -> str:
    """``mean ± std`` of the values, then ``(Δ mean ± std [lo, hi])`` against retrain."""
    if cell is None:
        return ""
    text = _mean_std(cell.values)
    if cell.deltas:
        text += f" (Δ {_mean_std(cell.deltas)}"
        if with_ci and cell.ci is not None and len(cell.deltas) > 1:
            text += f" [{cell.ci[0]:.3g}, {cell.ci[1]:.3g}]"
        text += ")"
    return text


def title(summary: Summary) -> str:
    i, j, k = summary.seeds
    return (f"{summary.dataset} / {summary.model} / {summary.scenario} — targets: "
            f"{', '.join(summary.targets)}; seeds I={i}, J={j}, K={k}")


def markdown(summaries: Sequence[Summary]) -> str:
    out = ["# Results", "",
           "Each cell: mean ± std over seeds (values first averaged over targets per seed); "
           "in brackets the per-seed difference to retrain, Δ = method − retrain, mean ± std "
           "and its 95% bootstrap confidence interval.", ""]
    for s in summaries:
        out += [f"## {title(s)}", "", "| metric | key | " + " | ".join(s.methods) + " |",
                "|---|---|" + "---|" * len(s.methods)]
        for (metric, k), cells in s.rows.items():
            out.append(f"| {metric} | {k} | "
                       + " | ".join(cell_text(cells.get(m)) for m in s.methods) + " |")
        out.append("")
    return "\n".join(out)


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"),
                 ("#", r"\#"), ("±", r"$\pm$"), ("Δ", r"$\Delta$"), ("—", "--")):
        text = text.replace(a, b)
    return text


def latex(summaries: Sequence[Summary]) -> str:
    out = []
    for s in summaries:
        out += [r"\begin{table}[t]", r"\centering", r"\small",
                r"\begin{tabular}{ll" + "r" * len(s.methods) + "}", r"\toprule",
                "metric & key & " + " & ".join(_tex(m) for m in s.methods) + r" \\", r"\midrule"]
        for (metric, k), cells in s.rows.items():
            out.append(f"{_tex(metric)} & {_tex(k)} & "
                       + " & ".join(_tex(cell_text(cells.get(m), with_ci=False)) for m in s.methods)
                       + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{_tex(title(s))}}}", r"\end{table}", ""]
    return "\n".join(out)


def tidy_csv(records: Sequence[dict[str, Any]]) -> str:
    """One row per record, without the nested provenance (see results.jsonl for it)."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([r.get(c, "") for c in CSV_COLUMNS])
    return buffer.getvalue()


def write_report(run_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Write ``results.csv``, ``tables.md`` and ``tables.tex`` under ``RUN_DIR/report``."""
    records = load_records(run_dir)
    summaries = summarise(records)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "report"
    files = {"csv": out / "results.csv", "markdown": out / "tables.md", "latex": out / "tables.tex"}
    atomic_write_bytes(files["csv"], tidy_csv(records).encode())
    atomic_write_bytes(files["markdown"], markdown(summaries).encode())
    atomic_write_bytes(files["latex"], latex(summaries).encode())
    return files
