"""The grid metrics in the report: ``grid_results.jsonl`` read back and shown.

A grid metric has one value per (dataset, model, scenario, target) and row, computed from
half of the group's runs against M_r of the other half (:mod:`supreme.pipeline.grid`), so
it has no seed distribution: it appears in its own table per group (``tables.md``,
``report.html``), as a column of the leaderboard (:data:`LEADERBOARD_COLUMNS`), and not in
the seed-paired ranking.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from supreme.pipeline.grid import GRID_RESULTS
from supreme.report.tables import jsonl_records

#: what every grid record holds, and the types the report relies on
FIELDS: dict[str, tuple[type, ...]] = {
    "dataset": (str,), "model": (str,), "scenario": (str,), "target": (str,),
    "method": (str,), "metric": (str,), "key": (str,), "value": (int, float, type(None)),
    "unlearned_models": (int,), "retrained_models": (int,), "runs": (int,),
}
#: (header, metric, key, format) of the leaderboard columns taken from grid records
LEADERBOARD_COLUMNS = (("Forget quality", "forget_quality", "forget_quality", ".3f"),)
READING = ("One value per group over its seeds: the row's models from half of the runs "
           "against the retrained models of the other half (by training seed); the retrain "
           "row compares two halves of retrained models, so read each method against it.")


def load_grid(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/grid_results.jsonl`` (none when the run has no grid metric)."""
    path = Path(run_dir) / GRID_RESULTS
    if not path.is_file():
        return []
    return jsonl_records(
        path, "Run the same `supreme run` again: it rewrites the grid results from the store.",
        _problem, "a grid record")


def _problem(record: Any) -> str:
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    for name, types in FIELDS.items():
        if name not in record:
            return f"it has no {name!r}"
        value = record[name]
        if not isinstance(value, types) or isinstance(value, bool):
            return f"{name!r} is {value!r}"
    value = record["value"]
    if isinstance(value, float) and not math.isfinite(value):
        return f"'value' is {value!r}"
    return ""


def groups(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault((r["dataset"], r["model"], r["scenario"], r["target"]), []).append(r)
    return out


def _tables(records: Sequence[dict[str, Any]]) -> list[tuple[str, list[str], list[list[str]]]]:
    """``[(title, header, rows)]``: per group, rows (metric, key) x methods."""
    out = []
    for (dataset, model, scenario, target), rows in groups(records).items():
        methods = list(dict.fromkeys(r["method"] for r in rows))
        reference = next((r for r in rows if r["method"] == "retrain"), rows[0])
        title = (f"{dataset} / {model} / {scenario}:{target}: {reference['runs']} runs, "
                 f"{reference['unlearned_models']} vs {reference['retrained_models']} models")
        if any(r.get("coarse") for r in rows):
            title += " (coarse: fewer models per side than the metric asks for)"
        values: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            values.setdefault((r["metric"], r["key"]), {})[r["method"]] = r["value"]
        body = [[metric, key, *("–" if v.get(m) is None else f"{v[m]:.4g}" for m in methods)]
                for (metric, key), v in values.items()]
        out.append((title, ["metric", "key", *methods], body))
    return out


def markdown(records: Sequence[dict[str, Any]]) -> list[str]:
    summary = [r for r in records if not r.get("detail")]
    if not summary:
        return []
    out = ["# Grid metrics", "", READING, ""]
    for title, header, rows in _tables(summary):
        out += [f"## {title}", "", "| " + " | ".join(header) + " |",
                "|---|---|" + "---:|" * (len(header) - 2)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        out.append("")
    return out


def html(records: Sequence[dict[str, Any]]) -> list[str]:
    summary = [r for r in records if not r.get("detail")]
    if not summary:
        return []
    out = ['<section id="grid">', "<h2>Grid metrics</h2>", f'<p class="note">{escape(READING)}</p>']
    name = ' class="name"'
    for title, header, rows in _tables(summary):
        out += [f"<h3>{escape(title)}</h3>", "<table>", "<thead><tr>"
                + "".join(f"<th{name if i < 2 else ''}>{escape(h)}</th>"
                          for i, h in enumerate(header)) + "</tr></thead>", "<tbody>"]
        out += ["<tr>" + "".join(f"<td{name if i < 2 else ''}>{escape(c)}</td>"
                                 for i, c in enumerate(row)) + "</tr>" for row in rows]
        out += ["</tbody>", "</table>"]
    out.append("</section>")
    return out


def column_values(records: Sequence[dict[str, Any]], scenario: str, dataset: str, model: str,
                  target: str | None = None) -> dict[tuple[str, str, str], float]:
    """``{(metric, key, method): value}`` of one leaderboard section, averaged over its
    forget targets (``target``: the random scenario's sections are per target)."""
    found: dict[tuple[str, str, str], list[float]] = {}
    for r in records:
        if (r["scenario"], r["dataset"], r["model"]) != (scenario, dataset, model) or \
                (target is not None and r["target"] != target) or r["value"] is None:
            continue
        found.setdefault((r["metric"], r["key"], r["method"]), []).append(float(r["value"]))
    return {k: statistics.fmean(v) for k, v in found.items()}
