"""The reference models in the report: failed gates as a banner, and the seed spread of
M_o's and M_r's own accuracies (from ``RUN_DIR/gates.jsonl``, one line per checked cell).

The spread shows how much of a method's spread over seeds is the references' own: M_o's
accuracies are taken once per training seed, M_r's once per (target, unlearning seed).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

#: accuracy key -> (label, which model, what identifies one model of that kind)
MEASURES = {
    "original_train": ("M_o train accuracy", ("train_seed",)),
    "original_test": ("M_o test accuracy", ("train_seed",)),
    "retrain_retain_test": ("M_r retain-test accuracy", ("target", "train_seed", "unlearn_seed")),
    "retrain_forget_test": ("M_r forget-test accuracy", ("target", "train_seed", "unlearn_seed")),
}


@dataclass(frozen=True)
class Spread:
    dataset: str
    model: str
    scenario: str
    measure: str
    label: str
    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    def stats(self) -> dict[str, float]:
        v = self.values
        return {"mean": statistics.fmean(v), "std": statistics.stdev(v) if len(v) > 1 else 0.0,
                "min": min(v), "max": max(v)}


def load_gates(run_dir: str | Path) -> list[dict[str, Any]]:
    """The checked cells of a run (``gates.jsonl``; empty when absent or unreadable lines)."""
    path = Path(run_dir) / "gates.jsonl"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("accuracies"), dict):
            rows.append(row)
    return rows


def spreads(gates: Sequence[dict[str, Any]]) -> list[Spread]:
    """Per (dataset, model, scenario) and measure, the values over distinct models."""
    groups: dict[tuple[str, str, str, str], dict[tuple[Any, ...], float]] = {}
    for g in gates:
        for measure, (_, identity) in MEASURES.items():
            value = g["accuracies"].get(measure)
            if value is None:
                continue
            group = (g["dataset"], g["model"], g["scenario"], measure)
            groups.setdefault(group, {})[tuple(g.get(k) for k in identity)] = float(value)
    return [Spread(d, m, s, measure, MEASURES[measure][0], tuple(v.values()))
            for (d, m, s, measure), v in groups.items()]


def failed(gates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [g for g in gates if not g.get("passed", True)]


def cell_label(g: dict[str, Any]) -> str:
    return (f"{g['dataset']}/{g['model']}/{g['scenario']}:{g['target']} s_t={g['train_seed']} "
            f"s_u={g['unlearn_seed']}")


def failure_text(g: dict[str, Any]) -> str:
    parts = []
    for c in g.get("checks", []):
        if not c.get("passed", True):
            op = "<" if c["op"] == ">=" else ">"
            parts.append(f"{c['what']} {c['value']:.2f}% {op} {c['threshold']:.2f}%")
    return "; ".join(parts)


def banner_markdown(gates: Sequence[dict[str, Any]]) -> list[str]:
    bad = failed(gates)
    if not bad:
        return []
    out = [f"> **Warning: the reference models failed their checks in {len(bad)} of "
           f"{len(gates)} cells.** M_o or M_r did not converge there, so every distance to "
           "retrain in those cells is unreliable (see docs/validity.md).", ">"]
    out += [f"> - {cell_label(g)}: {failure_text(g)}" for g in bad[:20]]
    if len(bad) > 20:
        out.append(f"> - ... and {len(bad) - 20} more (gates.jsonl)")
    return [*out, ""]


def section_markdown(gates: Sequence[dict[str, Any]]) -> list[str]:
    rows = spreads(gates)
    if not rows:
        return []
    out = ["## Reference models", "",
           "Accuracy (%) of the references themselves over seeds: M_o once per training seed, "
           "M_r once per target and unlearning seed. A method's spread is partly theirs.", "",
           "| dataset | model | scenario | measure | n | mean | std | min | max |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r.stats()
        out.append(f"| {r.dataset} | {r.model} | {r.scenario} | {r.label} | {r.n} | "
                   f"{s['mean']:.2f} | {s['std']:.2f} | {s['min']:.2f} | {s['max']:.2f} |")
    passed = len(gates) - len(failed(gates))
    out += ["", f"Reference checks passed in {passed} of {len(gates)} cells.", ""]
    return out


def banner_html(gates: Sequence[dict[str, Any]]) -> list[str]:
    bad = failed(gates)
    if not bad:
        return []
    items = "".join(f"<li>{escape(cell_label(g))}: {escape(failure_text(g))}</li>"
                    for g in bad[:50])
    more = f"<p>... and {len(bad) - 50} more (gates.jsonl)</p>" if len(bad) > 50 else ""
    return [f'<div class="banner" role="alert"><strong>Warning: the reference models failed '
            f"their checks in {len(bad)} of {len(gates)} cells.</strong> M_o or M_r did not "
            "converge there, so every distance to retrain in those cells is unreliable "
            f'(see <a href="#references">Reference models</a>).<details><summary>The '
            f"{len(bad)} cell(s) and their failed checks</summary><ul>{items}</ul>"
            f"{more}</details></div>"]


def section_html(gates: Sequence[dict[str, Any]]) -> list[str]:
    rows = spreads(gates)
    if not rows:
        return []
    head = "".join(f"<th>{h}</th>" for h in
                   ("dataset", "model", "scenario", "measure", "n", "mean", "std", "min", "max"))
    out = ['<section id="references">', "<h2>Reference models</h2>",
           '<p class="note">Accuracy (%) of the references themselves over seeds: M_o once per '
           "training seed, M_r once per target and unlearning seed.</p>",
           f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for r in rows:
        s = r.stats()
        cells = [r.dataset, r.model, r.scenario, r.label, str(r.n)] + [
            f"{s[k]:.2f}" for k in ("mean", "std", "min", "max")]
        out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    passed = len(gates) - len(failed(gates))
    out += ["</tbody></table>",
            f'<p class="note">Reference checks passed in {passed} of {len(gates)} cells.</p>',
            "</section>"]
    return out
