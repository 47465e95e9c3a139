"""Ranking of methods by their distance to the retrained reference, with paired tests.

Distance. For one (dataset, model, scenario), one method and one seed triple
(s_t, s_u, s_e), with every value first averaged over forget targets as in the tables::

    d(method, seed) = (1/|K|) · Σ_{k ∈ K} scale(k) · |v_k(method, seed) − v_k(retrain, seed)|

where K are the ranking keys (``metric:key``) that the group's retrain row has. By default
K = {accuracy:forget_test, accuracy:retain_test, accuracy:test, mia:forget_train}: three
accuracies in percent and the MIA rate, a fraction in [0, 1], times ``scale = 100`` so that
every term is in percent points. ``--rank-by metric:key`` (repeatable) picks other keys;
values of the ``mia`` and ``ulira`` metrics (rates in [0, 1]) are always scaled by 100,
every other key is used as it is.

A method is ranked over the seeds where it and retrain have every key of K. Methods are
ordered by mean distance (ties by name); retrain itself (distance 0) is not ranked.

Paired tests. For two methods A and B the per-seed differences
x_s = d(B, s) − d(A, s) over their shared seeds are tested for a zero mean with an exact
two-sided sign-flip permutation test: under the null the sign of each x_s is a fair coin,
so with T = |Σ_s x_s| the p-value is the share of the 2^n sign patterns ε with
|Σ_s ε_s x_s| ≥ T (for n ≤ 16; beyond, 10,000 seeded random patterns and
p = (1 + hits) / (1 + 10,000)). Each method is compared with the next one in the ranking
and with the best one; the p-values of each family (per group) are Holm-adjusted and a
comparison is significant when the adjusted p-value is below 0.05. With n seeds the
smallest exact p-value is 2 / 2^n, so at least 6 paired seeds are needed to reach 0.05.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from supreme.contracts.method import RETRAIN
from supreme.errors import UsageError
from supreme.report.tables import Seed, group_records, seed_means

#: The default ranking keys (metric, key), used when present.
DEFAULT_RANK_BY: tuple[tuple[str, str], ...] = (
    ("accuracy", "forget_test"), ("accuracy", "retain_test"), ("accuracy", "test"),
    ("mia", "forget_train"),
)
#: Per-metric factor turning values into percent points (MIA is a fraction).
SCALE = {"mia": 100.0, "ulira": 100.0}
REFERENCE = RETRAIN
ALPHA = 0.05
EXACT_MAX_N = 16
MONTE_CARLO_DRAWS = 10_000

RANKING_COLUMNS = (
    "dataset", "model", "scenario", "rank", "method", "seeds", "distance_mean", "distance_std",
    "keys", "next_method", "p_next", "p_next_holm", "significant_next",
    "p_best", "p_best_holm", "significant_best",
)


def parse_rank_by(specs: Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    """``["accuracy:forget_test", ...]`` -> ``(("accuracy", "forget_test"), ...)``;
    None or empty gives :data:`DEFAULT_RANK_BY`."""
    if not specs:
        return DEFAULT_RANK_BY
    keys: list[tuple[str, str]] = []
    for spec in specs:
        metric, sep, key = spec.partition(":")
        if not sep or not metric.strip() or not key.strip():
            raise UsageError(f"--rank-by {spec!r} is not of the form metric:key",
                             "Name a metric and one of its keys, e.g. --rank-by accuracy:forget_test.")
        if (metric.strip(), key.strip()) not in keys:
            keys.append((metric.strip(), key.strip()))
    return tuple(keys)


def sign_flip_test(differences: Sequence[float], *, seed: int = 0,
                   draws: int = MONTE_CARLO_DRAWS) -> float:
    """Two-sided sign-flip permutation p-value of H0: the paired differences are symmetric
    about 0. Exact (all 2^n sign patterns) for n ≤ 16, else ``draws`` seeded random
    patterns with p = (1 + hits) / (1 + draws). NaN for no differences."""
    import numpy as np

    x = np.asarray(differences, dtype=float)
    n = len(x)
    if n == 0:
        return math.nan
    observed = abs(float(x.sum()))
    # a relative tolerance so that patterns equal to the observed sum up to rounding count
    tolerance = 1e-9 * max(1.0, float(np.abs(x).sum()))
    if n <= EXACT_MAX_N:
        patterns = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        sums = np.abs(patterns @ x)
        return float(np.count_nonzero(sums >= observed - tolerance)) / float(2**n)
    rng = np.random.default_rng(seed)
    signs = rng.integers(0, 2, size=(draws, n)) * 2 - 1
    hits = int(np.count_nonzero(np.abs(signs @ x) >= observed - tolerance))
    return (1 + hits) / (1 + draws)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (NaN entries stay NaN and do not count)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


@dataclass
class Comparison:
    """A paired test of ``worse`` against ``better`` over their shared seeds."""

    better: str
    worse: str
    n: int
    mean_difference: float  # mean of d(worse) − d(better)
    p: float
    p_holm: float = math.nan

    @property
    def significant(self) -> bool:
        return not math.isnan(self.p_holm) and self.p_holm < ALPHA


@dataclass
class RankedMethod:
    method: str
    distances: dict[Seed, float]
    next: Comparison | None = None  # against the method ranked just below
    best: Comparison | None = None  # against the best method (None for the best)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.distances.values())

    @property
    def std(self) -> float:
        return statistics.stdev(self.distances.values()) if len(self.distances) > 1 else math.nan


@dataclass
class Ranking:
    """The ranking of one (dataset, model, scenario)."""

    dataset: str
    model: str
    scenario: str
    keys: list[tuple[str, str]]
    ranked: list[RankedMethod] = field(default_factory=list)
    unranked: list[str] = field(default_factory=list)  # methods without any complete seed


def seed_distances(records: Sequence[dict[str, Any]], keys: Sequence[tuple[str, str]]
                   ) -> tuple[list[tuple[str, str]], dict[str, dict[Seed, float]]]:
    """For the records of one (dataset, model, scenario): the keys used (those the retrain
    row has) and ``{method: {seed: distance}}`` for every method but retrain (the methods
    without a complete seed map to ``{}``)."""
    means = seed_means(records)
    used = [(m, k) for m, k in keys if (m, k, REFERENCE) in means]
    methods = [m for m in dict.fromkeys(r["method"] for r in records) if m != REFERENCE]
    result: dict[str, dict[Seed, float]] = {}
    for method in methods:
        if not used:
            result[method] = {}
            continue
        per_key = [(means.get((m, k, method), {}), means[(m, k, REFERENCE)], SCALE.get(m, 1.0))
                   for m, k in used]
        seeds = set.intersection(*(set(own) & set(ref) for own, ref, _ in per_key))
        result[method] = {
            s: statistics.fmean(scale * abs(own[s] - ref[s]) for own, ref, scale in per_key)
            for s in sorted(seeds)
        }
    return used, result


def _compare(better: RankedMethod, worse: RankedMethod) -> Comparison:
    shared = sorted(set(better.distances) & set(worse.distances))
    diffs = [worse.distances[s] - better.distances[s] for s in shared]
    return Comparison(better.method, worse.method, len(shared),
                      statistics.fmean(diffs) if diffs else math.nan, sign_flip_test(diffs))


def rank_group(key: tuple[str, str, str], records: Sequence[dict[str, Any]],
               keys: Sequence[tuple[str, str]] = DEFAULT_RANK_BY) -> Ranking:
    used, distances = seed_distances(records, keys)
    ranking = Ranking(*key, keys=used)
    ranked = [RankedMethod(m, d) for m, d in distances.items() if d]
    ranking.unranked = [m for m, d in distances.items() if not d]
    ranked.sort(key=lambda r: (r.mean, r.method))
    for upper, lower in itertools.pairwise(ranked):
        upper.next = _compare(upper, lower)
    for other in ranked[1:]:
        other.best = _compare(ranked[0], other)
    for family in ([r.next for r in ranked if r.next], [r.best for r in ranked if r.best]):
        for comparison, adjusted in zip(family, holm([c.p for c in family]), strict=True):
            comparison.p_holm = adjusted
    ranking.ranked = ranked
    return ranking


def rank(records: Sequence[dict[str, Any]], keys: Sequence[tuple[str, str]] = DEFAULT_RANK_BY,
         *, explicit: bool = False) -> list[Ranking]:
    """One :class:`Ranking` per (dataset, model, scenario). With ``explicit`` (keys named by
    the user), a key that no record has is a :class:`UsageError`."""
    if explicit:
        present = {(r["metric"], r["key"]) for r in records}
        missing = [f"{m}:{k}" for m, k in keys if (m, k) not in present]
        if missing:
            known = ", ".join(sorted(f"{m}:{k}" for m, k in present)) or "none"
            raise UsageError(f"--rank-by {', '.join(missing)}: no such metric key in the results",
                             f"Pick from the keys the run produced: {known}.")
    return [rank_group(k, rows, keys) for k, rows in group_records(records).items()]


def _num(value: float, fmt: str = ".6g") -> str:
    return "" if value is None or math.isnan(value) else format(value, fmt)


def ranking_rows(rankings: Sequence[Ranking]) -> list[dict[str, Any]]:
    """The rows of ``ranking.csv`` (see :data:`RANKING_COLUMNS`)."""
    rows = []
    for g in rankings:
        keys = ";".join(f"{m}:{k}" for m, k in g.keys)
        for position, r in enumerate(g.ranked, start=1):
            nxt, best = r.next, r.best
            rows.append({
                "dataset": g.dataset, "model": g.model, "scenario": g.scenario,
                "rank": position, "method": r.method, "seeds": len(r.distances),
                "distance_mean": _num(r.mean), "distance_std": _num(r.std), "keys": keys,
                "next_method": nxt.worse if nxt else "",
                "p_next": _num(nxt.p) if nxt else "", "p_next_holm": _num(nxt.p_holm) if nxt else "",
                "significant_next": str(nxt.significant).lower() if nxt else "",
                "p_best": _num(best.p) if best else "",
                "p_best_holm": _num(best.p_holm) if best else "",
                "significant_best": str(best.significant).lower() if best else "",
            })
        for method in g.unranked:
            rows.append({**dict.fromkeys(RANKING_COLUMNS, ""), "dataset": g.dataset,
                         "model": g.model, "scenario": g.scenario, "method": method,
                         "seeds": 0, "keys": keys})
    return rows


def ranking_csv(rankings: Sequence[Ranking]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, RANKING_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(ranking_rows(rankings))
    return buffer.getvalue()


def _p_text(c: Comparison | None) -> str:
    if c is None:
        return ""
    if math.isnan(c.p):
        return "no shared seeds"
    return f"{c.p:.3g} (Holm {c.p_holm:.3g}){' *' if c.significant else ''}"


def table_rows(g: Ranking) -> list[list[str]]:
    """Header and rows of the ranking table shown in Markdown and HTML."""
    rows = [["rank", "method", "seeds", "distance", "vs next", "p vs next",
             "p vs best"]]
    for position, r in enumerate(g.ranked, start=1):
        dist = f"{r.mean:.4g}" + (f" ± {r.std:.2g}" if len(r.distances) > 1 else "")
        rows.append([str(position), r.method, str(len(r.distances)), dist,
                     r.next.worse if r.next else "", _p_text(r.next), _p_text(r.best)])
    for method in g.unranked:
        rows.append(["–", method, "0", "no seed with every ranking key", "", "", ""])
    return rows


def describe_keys(g: Ranking) -> str:
    if not g.keys:
        return "no ranking key was measured for retrain, so the methods are not ranked"
    terms = ", ".join(f"{m}:{k}" + (" ×100" if m in SCALE else "") for m, k in g.keys)
    return ("distance: per seed, the mean of |method − retrain| over " + terms
            + "; then mean ± std over seeds. p: two-sided sign-flip permutation test of the "
            "per-seed distance differences, Holm-adjusted per column; * when the adjusted "
            "p is below 0.05")


def markdown_section(g: Ranking) -> list[str]:
    rows = table_rows(g)
    out = ["### Ranking by distance to retrain", "", describe_keys(g) + ".", ""]
    if not g.keys:
        return out
    out.append("| " + " | ".join(rows[0]) + " |")
    out.append("|" + "---|" * len(rows[0]))
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows[1:]]
    out.append("")
    return out
