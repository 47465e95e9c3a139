"""Per (dataset, model, scenario) tables of every method's metrics over seeds.

For each metric key and method the table shows the mean ± standard deviation over seeds,
and the difference to the retrained reference computed per seed, as the paper's tables
do: for every seed triple (s_t, s_u, s_e) the values are first averaged over forget
targets, then Δ = method − retrain per seed, then mean ± std over seeds with a 95%
bootstrap confidence interval of the mean. The seed counts I/J/K are stated with each
table. Only the standard library and NumPy are used (pyarrow for the Parquet file,
imported when it is written).
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supreme.contracts.method import RETRAIN
from supreme.errors import UsageError
from supreme.pipeline.results import (  # re-exported: the tidy table is the results'
    _INT_COLUMNS,
    TIDY_COLUMNS,
    tidy_rows,
)
from supreme.store import atomic_write_bytes

Seed = tuple[int, int, int]
GROUP_KEYS = ("dataset", "model", "scenario")
BOOTSTRAP_SAMPLES = 10_000


def load_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/results.jsonl``."""
    path = Path(run_dir) / "results.jsonl"
    if not path.is_file():
        raise UsageError(
            f"{path} does not exist",
            "Pass the run directory of a finished `supreme run` (output_dir/name).",
        )
    return jsonl_records(path, "Rerun `supreme run` to rewrite the results file.",
                         record_problem, "a result record")


def jsonl_records(path: Path, fix: str, problem: Callable[[Any], str | None],
                  what: str) -> list[dict[str, Any]]:
    """The JSON records of a JSON-lines file, each checked by ``problem`` (a description of
    what is wrong, or None); a bad line is a :class:`UsageError` naming it and ``what``
    it should be, with ``fix`` as the hint."""
    records = []
    for number, line in jsonl_lines(path, fix):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"{path}:{number} is not a JSON record ({exc})", fix) from exc
        found = problem(record)
        if found:
            raise UsageError(f"{path}:{number} is not {what}: {found}", fix)
        records.append(record)
    return records


#: what every result record holds, and the types the report relies on
RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "dataset": (str,), "model": (str,), "scenario": (str,), "target": (str,),
    "train_seed": (int,), "unlearn_seed": (int,), "eval_seed": (int,),
    "method": (str,), "metric": (str,), "key": (str,), "value": (int, float),
}


def record_problem(record: Any) -> str | None:
    """Why ``record`` is not a result record (``None`` when it is one)."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    for name, types in RECORD_FIELDS.items():
        if name not in record:
            return f"it has no {name!r}"
        value = record[name]
        if isinstance(value, bool) or not isinstance(value, types):
            kind = {str: "a string", int: "an integer"}.get(types[0], "a number") \
                if len(types) == 1 else "a number"
            return f"{name!r} is {json.dumps(value)[:60]}, not {kind}"
    return None


def jsonl_lines(path: Path, fix: str) -> Iterable[tuple[int, str]]:
    """``(line number, text)`` of the non-blank lines of a JSON-lines file; a line that is
    not UTF-8 is an error naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}", fix) from exc
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path}:{number} is not UTF-8 text (byte {exc.start + 1}: "
                             f"{exc.reason})", fix) from None
        if line.strip():
            yield number, line


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


def group_records(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """The records of each (dataset, model, scenario), in first-seen order."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["dataset"], r["model"], r["scenario"]), []).append(r)
    return groups


def seed_of(record: dict[str, Any]) -> Seed:
    return (record["train_seed"], record["unlearn_seed"], record["eval_seed"])


def seed_means(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], dict[Seed, float]]:
    """``{(metric, key, method): {seed: value}}``, each value the mean over forget targets.

    The records should be those of one (dataset, model, scenario).
    """
    per_seed: dict[tuple[str, str, str], dict[Seed, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r["value"] is None:  # a declared non-finite value: counted out, listed in the CSV
            continue
        per_seed[(r["metric"], r["key"], r["method"])][seed_of(r)].append(float(r["value"]))
    return {k: {s: statistics.fmean(v) for s, v in by_seed.items()} for k, by_seed in per_seed.items()}


def summarise(records: Sequence[dict[str, Any]]) -> list[Summary]:
    """One :class:`Summary` per (dataset, model, scenario), in first-seen order."""
    return [_summary(key, rows) for key, rows in group_records(records).items()]


def _summary(key: tuple[str, str, str], records: list[dict[str, Any]]) -> Summary:
    methods = list(dict.fromkeys(r["method"] for r in records))
    per_seed = seed_means(records)
    summary = Summary(key[0], key[1], key[2], methods=methods, seeds=seed_counts(seed_of(r) for r in records),
                      targets=list(dict.fromkeys(r["target"] for r in records)))
    row_keys = list(dict.fromkeys((r["metric"], r["key"]) for r in records))
    for metric, k in row_keys:
        reference = per_seed.get((metric, k, RETRAIN), {})
        cells: dict[str, Cell] = {}
        for method in methods:
            by_seed = per_seed.get((metric, k, method), {})
            if not by_seed:
                continue
            ordered = sorted(by_seed)
            values = [by_seed[s] for s in ordered]
            deltas = None
            if reference and method != RETRAIN:
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


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


def markdown(summaries: Sequence[Summary],
             after: dict[tuple[str, str, str], list[str]] | None = None,
             footer: Sequence[str] = ()) -> str:
    """The tables; ``after[(dataset, model, scenario)]``: lines put after that group's table,
    ``footer``: lines at the end."""
    out = ["# Results", "",
           "Each cell: mean ± std over seeds (values first averaged over targets per seed); "
           "in brackets the per-seed difference to retrain, Δ = method − retrain, mean ± std "
           "and its 95% bootstrap confidence interval.", ""]
    for s in summaries:
        out += [f"## {title(s)}", "", *_markdown_table(s)]
        out += (after or {}).get((s.dataset, s.model, s.scenario), [])
    out += footer
    return "\n".join(out)


def _markdown_table(s: Summary) -> list[str]:
    out = ["| metric | key | " + " | ".join(map(_md, s.methods)) + " |",
           "|---|---|" + "---|" * len(s.methods)]
    for (metric, k), cells in s.rows.items():
        out.append(f"| {_md(metric)} | {_md(k)} | "
                   + " | ".join(cell_text(cells.get(m)) for m in s.methods) + " |")
    return [*out, ""]


def details_markdown(summaries: Sequence[Summary]) -> list[str]:
    """The keys metrics declared details (``"detail": true``), one table per group, as
    lines for the end of ``tables.md`` (none when there are none)."""
    if not summaries:
        return []
    out = ["# Details", "",
           "Keys the metrics declare details (for example one value per layer), in the same "
           "form as the tables above; every value is also in results.csv.", ""]
    for s in summaries:
        out += [f"## Details: {title(s)}", "", *_markdown_table(s)]
    return out


def split_details(records: Sequence[dict[str, Any]]
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(summary records, detail records)``: a record is a detail when its metric declared
    the key one (``"detail": true``)."""
    summary = [r for r in records if not r.get("detail")]
    return summary, [r for r in records if r.get("detail")]


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
    """One row per record with :data:`TIDY_COLUMNS` (missing values as empty cells)."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TIDY_COLUMNS)
    for row in tidy_rows(records):
        writer.writerow(["" if row[c] is None else row[c] for c in TIDY_COLUMNS])
    return buffer.getvalue()


def write_parquet(records: Sequence[dict[str, Any]], path: str | Path) -> None:
    """``results.parquet``: the rows of :func:`tidy_rows` (needs pyarrow). Seeds are int64,
    ``value`` float64, every other column a string; missing values are nulls."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.int64() if c in _INT_COLUMNS else pa.float64() if c == "value"
                         else pa.bool_() if c == "detail" else pa.string()) for c in TIDY_COLUMNS])
    rows = tidy_rows(records)
    for row in rows:
        for c in TIDY_COLUMNS:
            if row[c] is not None and c not in _INT_COLUMNS and c not in ("value", "detail"):
                row[c] = str(row[c])
    table = pa.Table.from_pylist(rows, schema=schema)
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue().to_pybytes())
