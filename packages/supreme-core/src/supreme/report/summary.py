"""The summary a report opens with, and the table ``supreme run`` prints.

Per (dataset, model, scenario) one table answers the benchmark's question: which method came
closest to the model retrained from scratch. Rows: retrain (the reference) first, then the
methods in the order of the ranking (:mod:`supreme.report.ranking`: distance to retrain,
paired sign-flip tests, Holm-adjusted), then the methods without a complete seed. Columns:
the rank, the method, the distance to retrain (mean over seeds with a 95 % bootstrap
interval and the significance marks of the ranking), then the leaderboard's value columns
(forget / retain accuracy, MIA, time, and relearn steps or U-LiRA where measured; mean ±
std over seeds) and the number of seeds. Failed reference-model gates and failed stages of
the group come with it (``gates``, ``failures``).

Nothing is computed here that the ranking, the tables or the leaderboard do not already
compute: this module only puts their numbers side by side.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from supreme.contracts.method import ORIGINAL, RETRAIN
from supreme.report import references
from supreme.report.leaderboard import COLUMNS, DASH, EXTRA_COLUMNS, value_text
from supreme.report.ranking import SCALE, Ranking
from supreme.report.tables import Seed, bootstrap_ci, group_records, seed_counts, seed_means, seed_of

#: distance marks: significantly farther from retrain than rank 1 / than the method above
MARK_BEST = "*"
MARK_ABOVE = "†"
Group = tuple[str, str, str]


def is_tuned(method: str, records: Sequence[dict[str, Any]] = (),
             config: dict[str, Any] | None = None) -> bool:
    """Whether the row ``method`` is a tuned one: the run's configuration (``config.json``)
    has a ``[tuned."METHOD"]`` table for it, which ``supreme tune`` writes into the fragment
    that ``--include`` adds (e.g. ``neg_grad@tuned``; docs/tuning.md). The one place that
    decides it, for every table and the console; ``records`` is accepted for callers that
    have them and is not needed."""
    tuned = (config or {}).get("tuned")
    return isinstance(tuned, dict) and method in tuned


@dataclass
class Row:
    """One method of a group's summary."""

    method: str
    role: str  # "reference" (retrain), "baseline" (original) or "method"
    rank: int | None = None  # 1 = closest to retrain; None: retrain, or no complete seed
    distances: dict[Seed, float] = field(default_factory=dict)  # per seed (the ranking's)
    ci: tuple[float, float] | None = None  # 95 % bootstrap interval of the mean distance
    farther_than_best: bool = False  # significantly, against rank 1 (Holm, p < 0.05)
    farther_than_above: bool = False  # significantly, against the method ranked just above
    p_best_holm: float | None = None
    p_above_holm: float | None = None
    values: dict[str, list[float]] = field(default_factory=dict)  # column header -> per seed
    seeds: tuple[int, int, int] = (0, 0, 0)  # I, J, K of this method's records
    tuned: bool = False

    @property
    def label(self) -> str:
        return self.method

    @property
    def setting(self) -> str:
        """``tuned``, ``default`` or ``reference`` (retrain and original)."""
        return "tuned" if self.tuned else "reference" if self.role != "method" else "default"

    @property
    def distance(self) -> float | None:
        return statistics.fmean(self.distances.values()) if self.distances else None


@dataclass
class GroupSummary:
    """The summary of one (dataset, model, scenario)."""

    dataset: str
    model: str
    scenario: str
    seeds: tuple[int, int, int]  # I, J, K
    targets: list[str]
    keys: list[tuple[str, str]]  # the ranking keys used
    columns: list[tuple[str, str, str, str]]  # (header, metric, key, format)
    rows: list[Row]
    gates: list[dict[str, Any]] = field(default_factory=list)  # every gate of the group
    failures: list[dict[str, Any]] = field(default_factory=list)  # failed stages of the group

    @property
    def group(self) -> Group:
        return (self.dataset, self.model, self.scenario)

    @property
    def title(self) -> str:
        return f"{self.dataset} / {self.model} / {self.scenario}"

    @property
    def failed_gates(self) -> list[dict[str, Any]]:
        return references.failed(self.gates)

    @property
    def any_tuned(self) -> bool:
        return any(r.tuned for r in self.rows)

    @property
    def ranked(self) -> list[Row]:
        return [r for r in self.rows if r.rank is not None]


def _of_group(entries: Sequence[dict[str, Any]], group: Group) -> list[dict[str, Any]]:
    return [e for e in entries if (e.get("dataset"), e.get("model"), e.get("scenario")) == group]


def build(records: Sequence[dict[str, Any]], rankings: Sequence[Ranking],
          gates: Sequence[dict[str, Any]] = (), failures: Sequence[dict[str, Any]] = (),
          config: dict[str, Any] | None = None) -> list[GroupSummary]:
    """One :class:`GroupSummary` per (dataset, model, scenario) of ``records`` (the summary
    records: finite values, no detail keys), with the group's ranking from ``rankings``;
    ``config``: the run's ``config.json`` (which rows are tuned, :func:`is_tuned`)."""
    by_group = {(g.dataset, g.model, g.scenario): g for g in rankings}
    out = []
    for group, rows in group_records(records).items():
        ranking = by_group.get(group) or Ranking(*group, keys=[])
        out.append(_group(group, rows, ranking, _of_group(gates, group),
                          _of_group(failures, group), config))
    return out


def _group(group: Group, records: list[dict[str, Any]], ranking: Ranking,
           gates: list[dict[str, Any]], failures: list[dict[str, Any]],
           config: dict[str, Any] | None) -> GroupSummary:
    means = seed_means(records)
    present = {(r["metric"], r["key"]) for r in records}
    columns = [c for c in (*COLUMNS, *EXTRA_COLUMNS) if (c[1], c[2]) in present]
    methods = list(dict.fromkeys(r["method"] for r in records))
    own = {m: [r for r in records if r["method"] == m] for m in methods}

    def row(method: str, role: str) -> Row:
        values = {header: [v for _, v in sorted(means.get((metric, key, method), {}).items())]
                  for header, metric, key, _ in columns}
        return Row(method, role, values=values, tuned=is_tuned(method, own.get(method, []), config),
                   seeds=seed_counts(seed_of(r) for r in own.get(method, [])))

    rows = [row(RETRAIN, "reference")] if RETRAIN in methods else []
    ranked = ranking.ranked
    for position, ranked_method in enumerate(ranked, start=1):
        r = row(ranked_method.method, "baseline" if ranked_method.method == ORIGINAL else "method")
        r.rank = position
        r.distances = dict(ranked_method.distances)
        if len(r.distances) > 1:
            r.ci = bootstrap_ci(list(r.distances.values()))
        if ranked_method.best is not None:
            r.farther_than_best = ranked_method.best.significant
            r.p_best_holm = ranked_method.best.p_holm
        above = ranked[position - 2].next if position > 1 else None
        if above is not None:
            r.farther_than_above = above.significant
            r.p_above_holm = above.p_holm
        rows.append(r)
    listed = {r.method for r in rows}
    rows += [row(m, "baseline" if m == ORIGINAL else "method") for m in methods if m not in listed]
    return GroupSummary(*group, seeds=seed_counts(seed_of(r) for r in records),
                        targets=list(dict.fromkeys(str(r["target"]) for r in records)),
                        keys=list(ranking.keys), columns=columns, rows=rows, gates=gates,
                        failures=failures)


# ---------------------------------------------------------------- text

def marks(row: Row) -> str:
    return (MARK_BEST if row.farther_than_best else "") + (MARK_ABOVE if row.farther_than_above else "")


def distance_text(row: Row, with_marks: bool = True) -> str:
    """``2.31 [1.2, 3.4] *†``; "0 (reference)" for retrain; "–" without a complete seed."""
    if row.role == "reference":
        return "0 (reference)"
    if row.distance is None:
        return DASH
    text = f"{row.distance:.3g}"
    if row.ci is not None:
        text += f" [{row.ci[0]:.3g}, {row.ci[1]:.3g}]"
    if with_marks and marks(row):
        text += " " + marks(row)
    return text


def rank_text(row: Row) -> str:
    return "ref." if row.role == "reference" else (str(row.rank) if row.rank is not None else DASH)


def header(s: GroupSummary) -> list[str]:
    return ["Rank", "Method", *(["Setting"] if s.any_tuned else []),
            "Distance to retrain [95% CI]", *(c[0] for c in s.columns), "Seeds (I/J/K)"]


def row_cells(s: GroupSummary, row: Row) -> list[str]:
    i, j, k = row.seeds
    return [rank_text(row), row.label,
            *([row.setting] if s.any_tuned else []),
            distance_text(row), *(value_text(row.values.get(c[0], []), c[3]) for c in s.columns),
            f"{i}/{j}/{k}"]


def keys_text(keys: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{m}:{k}" + (" ×100" if m in SCALE else "") for m, k in keys)


def note(s: GroupSummary) -> str:
    """How the table was computed, in one paragraph."""
    i, j, k = s.seeds
    text = (f"Seeds: I={i} training × J={j} unlearning × K={k} evaluation seed(s); forget "
            f"target(s): {', '.join(s.targets)}. For each seed triple the values are first "
            "averaged over the targets, then mean ± std over the seed triples. ")
    if s.keys:
        text += (f"Distance to retrain: per seed triple, the mean of |method − retrain| over "
                 f"{keys_text(s.keys)}; then its mean over seeds with a 95% percentile "
                 "bootstrap interval (10,000 resamples; from 2 seeds on). "
                 f"{MARK_BEST}: significantly farther from retrain than rank 1, {MARK_ABOVE}: "
                 "than the method ranked just above (two-sided sign-flip test of the per-seed "
                 "distances, Holm-adjusted, p < 0.05; at least 6 paired seeds are needed). "
                 "Methods without a seed with every ranking key are listed last, unranked.")
    else:
        text += "No ranking key was measured for retrain, so the methods are not ranked."
    return text


def gate_lines(s: GroupSummary) -> list[str]:
    """One line per failed reference-model gate of the group."""
    return [f"{references.cell_label(g)}: {references.failure_text(g)}" for g in s.failed_gates]


def failure_lines(failures: Sequence[dict[str, Any]]) -> list[str]:
    """One line per failed stage: cell, stage, error type and the error's first line."""
    from supreme.report.failures import failure_rows

    out = []
    for f in failure_rows(list(failures)):
        error = f"{f['error_type']}: {f['error']}" if f["error_type"] else f["error"]
        first = (error.strip().splitlines() or [""])[0]
        out.append(f"{f['cell']} — {f['stage'] or f['method']}: {first[:200]}")
    return out


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(summaries: Sequence[GroupSummary]) -> list[str]:
    """The ``# Summary`` section at the top of ``tables.md``."""
    if not summaries:
        return []
    out = ["# Summary", ""]
    for s in summaries:
        out += [f"## {s.title}", ""]
        if s.failed_gates:
            out += [f"> **Warning: the reference models failed their checks in "
                    f"{len(s.failed_gates)} of {len(s.gates)} cells of this group**: every "
                    "distance to retrain here is unreliable.", ">",
                    *(f"> - {_md(line)}" for line in gate_lines(s)), ""]
        if s.failures:
            out += [f"> **{len(s.failures)} stage(s) of this group failed**: their results are "
                    "missing below (see Failures).", ">",
                    *(f"> - {_md(line)}" for line in failure_lines(s.failures)), ""]
        head = header(s)
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(_md(c) for c in row_cells(s, r)) + " |" for r in s.rows]
        out += ["", note(s), ""]
    return out
