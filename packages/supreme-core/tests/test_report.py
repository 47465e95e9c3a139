"""Reports: per-seed deltas to retrain, seed counts, bootstrap intervals, files, CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from supreme.cli.main import main
from supreme.errors import UsageError
from supreme.report import load_records, summarise, write_report
from supreme.report.tables import bootstrap_ci, seed_counts


def record(method: str, value: float, *, seed: int, target: str = "a", key: str = "forget_test",
           metric: str = "accuracy") -> dict[str, Any]:
    return {"experiment": "x", "dataset": "toy", "model": "tiny", "scenario": "fullclass",
            "target": target, "train_seed": seed, "unlearn_seed": seed, "eval_seed": seed,
            "method": method, "metric": metric, "key": key, "value": value}


RECORDS = [
    # two seeds, two targets: the per-seed value is the mean over targets
    record("retrain", 0.0, seed=0, target="a"), record("retrain", 10.0, seed=0, target="b"),
    record("retrain", 2.0, seed=1, target="a"), record("retrain", 4.0, seed=1, target="b"),
    record("ft", 40.0, seed=0, target="a"), record("ft", 50.0, seed=0, target="b"),
    record("ft", 30.0, seed=1, target="a"), record("ft", 30.0, seed=1, target="b"),
]


def test_values_are_averaged_over_targets_then_differenced_per_seed() -> None:
    (summary,) = summarise(RECORDS)
    assert summary.methods == ["retrain", "ft"] and summary.targets == ["a", "b"]
    assert summary.seeds == (2, 1, 1)
    ft = summary.rows[("accuracy", "forget_test")]["ft"]
    assert ft.values == [45.0, 30.0]
    assert ft.deltas == [40.0, 27.0]  # 45 - 5 and 30 - 3
    retrain = summary.rows[("accuracy", "forget_test")]["retrain"]
    assert retrain.values == [5.0, 3.0] and retrain.deltas is None


def test_seed_counts_follow_the_protocol() -> None:
    seeds = [(t, 10 * t + j, 100 * t + 10 * j + k) for t in (1, 2, 3) for j in (0, 1) for k in range(4)]
    assert seed_counts(seeds) == (3, 2, 4)


def test_bootstrap_interval_brackets_the_mean_and_collapses_for_constants() -> None:
    lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert lo < 3.0 < hi and lo >= 1.0 and hi <= 5.0
    assert bootstrap_ci([2.5, 2.5, 2.5]) == (2.5, 2.5)
    assert bootstrap_ci([1.0, 2.0, 9.0]) == bootstrap_ci([1.0, 2.0, 9.0])  # seeded


def write_run(run_dir: Path, records: list[dict[str, Any]]) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return run_dir


def test_report_files(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", RECORDS)
    files = write_report(run_dir)
    rows = list(csv.DictReader(io.StringIO(files["csv"].read_text())))
    assert len(rows) == len(RECORDS) and rows[4]["method"] == "ft" and rows[4]["value"] == "40.0"
    md = files["markdown"].read_text()
    assert "| accuracy | forget_test | 4 ± 1.4 | 37.5 ± 11 (Δ 33.5 ± 9.2 [27, 40]) |" in md
    assert "seeds I=2, J=1, K=1" in md
    tex = files["latex"].read_text()
    assert r"forget\_test" in tex and r"$\pm$" in tex and r"\begin{tabular}{llrr}" in tex


def test_report_of_a_missing_run_is_a_usage_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="results.jsonl does not exist"):
        load_records(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["report", str(tmp_path / "nowhere")])
    assert info.value.code == 2
    assert "Error:" in capsys.readouterr().err


def test_report_of_a_real_run(toy_experiment: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    import supreme

    results = supreme.run(supreme.load_config(data={**toy_experiment,
                                                   "seeds": {"train": [0, 1]}}))
    with pytest.raises(SystemExit) as info:
        main(["report", str(results.run_dir), "--json"])
    assert info.value.code == 0
    files = json.loads(capsys.readouterr().out)
    md = Path(files["markdown"]).read_text()
    assert "## toy / tiny / fullclass — targets: b; seeds I=2, J=1, K=1" in md
    # retrain compared with itself has no delta; the others do
    line = next(row for row in md.splitlines() if row.startswith("| toy_gap | test |"))
    assert line.split(" | ")[3].startswith("0 ± 0") or line.split(" | ")[3] == "0"
    assert "(Δ" in line


# ---------------------------------------------------------------- ranking and paired tests

from supreme.report import rank, sign_flip_test  # noqa: E402
from supreme.report.ranking import holm, parse_rank_by, ranking_rows  # noqa: E402


@pytest.mark.parametrize(("differences", "expected"), [
    ([1.0, 2.0, 3.0], 2 / 8),   # only all-plus and all-minus reach |6|
    ([0.0, 0.0, 0.0], 1.0),     # every pattern ties with the observed 0
    ([1.0, -1.0], 1.0),         # observed sum 0
    ([1.0, 2.0], 2 / 4),        # |±1 ± 2| ≥ 3 for two of four patterns
    ([3.0, -1.0, 2.0], 4 / 8),  # sums 6, 2, 4, 0, 0, -4, -2, -6: four reach |4|
    ([5.0], 1.0),               # one seed: both signs reach |5|
    ([1.0] * 16, 2 / 2**16),    # the largest exact case
])
def test_sign_flip_test_exact_p_values(differences: list[float], expected: float) -> None:
    assert sign_flip_test(differences) == pytest.approx(expected, abs=1e-15)


def test_sign_flip_test_monte_carlo_beyond_16_seeds() -> None:
    import math

    assert math.isnan(sign_flip_test([]))
    assert sign_flip_test([0.0] * 17) == 1.0  # every draw ties: (1 + 10000) / (1 + 10000)
    p = sign_flip_test([1.0] * 20)
    # exact value 2 / 2^20; 10,000 draws almost never hit the two extreme patterns
    assert 1 / 10_001 <= p <= 4 / 10_001
    assert sign_flip_test([1.0] * 20) == p  # seeded
    mixed = [1.0, -2.0, 0.5, 3.0, -1.0, 2.5, 0.2, -0.7, 1.1, 0.9, -0.4, 2.0, 1.5, -0.3, 0.8, 1.2, 0.6]
    assert 0.0 < sign_flip_test(mixed) < 1.0


def test_holm_adjustment() -> None:
    import math

    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    adjusted = holm([0.02, math.nan])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1])


def ranking_records(seeds: int = 3) -> list[dict[str, Any]]:
    """retrain, original and two methods with hand-chosen per-seed values."""
    forget = {"retrain": [0, 0, 0], "a": [2, 4, 0], "b": [10, 12, 8], "original": [100, 100, 100]}
    retain = {"retrain": [90, 90, 90], "a": [89, 90, 88], "b": [90, 90, 90], "original": [95, 95, 95]}
    mia = {"retrain": [0.1, 0.1, 0.1], "a": [0.12, 0.1, 0.1], "b": [0.1, 0.1, 0.1],
           "original": [0.9, 0.9, 0.9]}
    out = []
    for s in range(seeds):
        for m in forget:
            out.append(record(m, forget[m][s % 3], seed=s))
            out.append(record(m, retain[m][s % 3], seed=s, key="retain_test"))
            out.append(record(m, mia[m][s % 3], seed=s, metric="mia", key="forget_train"))
            out.append(record(m, 99.0 - s, seed=s, metric="loss", key="forget_test"))  # not ranked
    return out


def test_ranking_distances_order_and_tests() -> None:
    (g,) = rank(ranking_records())
    assert g.keys == [("accuracy", "forget_test"), ("accuracy", "retain_test"), ("mia", "forget_train")]
    assert [r.method for r in g.ranked] == ["a", "b", "original"] and g.unranked == []
    a, b, original = g.ranked
    # seed 0: (|2-0| + |89-90| + 100·|0.12-0.1|) / 3 = 5/3; seed 1: 4/3; seed 2: 2/3
    assert list(a.distances.values()) == pytest.approx([5 / 3, 4 / 3, 2 / 3])
    assert a.mean == pytest.approx(11 / 9)
    assert b.mean == pytest.approx((10 + 12 + 8) / 9)
    assert original.mean == pytest.approx((100 + 5 + 80) / 3)
    # b - a per seed: 5/3, 8/3, 2 (all positive): exact p = 2/8; two tests per family: Holm 0.5
    assert a.next is not None and a.next.worse == "b" and a.next.p == pytest.approx(0.25)
    assert a.next.mean_difference == pytest.approx((5 / 3 + 8 / 3 + 2) / 3)
    assert a.next.p_holm == pytest.approx(0.5) and not a.next.significant
    assert b.best is not None and b.best.better == "a" and b.best.p_holm == pytest.approx(0.5)
    assert original.next is None and a.best is None
    rows = ranking_rows([g])
    assert [(r["rank"], r["method"], r["next_method"], r["p_next"]) for r in rows] == [
        (1, "a", "b", "0.25"), (2, "b", "original", "0.25"), (3, "original", "", "")]
    assert rows[0]["keys"] == "accuracy:forget_test;accuracy:retain_test;mia:forget_train"


def test_ranking_significance_needs_six_seeds() -> None:
    records = [r for r in ranking_records(seeds=6) if r["method"] in ("retrain", "a", "b")]
    (g,) = rank(records)
    a, b = g.ranked
    # one comparison per family: Holm leaves p = 2/64 alone, below 0.05
    assert a.next is not None and a.next.p == pytest.approx(2 / 64)
    assert a.next.p_holm == pytest.approx(2 / 64) and a.next.significant
    assert ranking_rows([g])[0]["significant_next"] == "true"


def test_ranking_by_a_chosen_key_and_bad_keys() -> None:
    keys = parse_rank_by(["accuracy:retain_test"])
    (g,) = rank(ranking_records(), keys, explicit=True)
    # retain distances: a 1, 0, 2 (mean 1); b 0; original 5
    assert [(r.method, r.mean) for r in g.ranked] == [("b", 0.0), ("a", 1.0), ("original", 5.0)]
    assert parse_rank_by(None) == parse_rank_by([])
    with pytest.raises(UsageError, match="not of the form metric:key"):
        parse_rank_by(["accuracy"])
    with pytest.raises(UsageError, match="no such metric key") as info:
        rank(ranking_records(), parse_rank_by(["accuracy:nope"]), explicit=True)
    assert "accuracy:retain_test" in info.value.hint


def test_methods_without_the_ranking_keys_are_unranked() -> None:
    records = [*ranking_records(), record("c", 1.0, seed=0, metric="loss", key="test")]
    (g,) = rank(records)
    assert g.unranked == ["c"]
    assert ranking_rows([g])[-1] == {**ranking_rows([g])[-1], "method": "c", "rank": "", "seeds": 0}
    # no ranking key measured for retrain: nothing is ranked
    (g,) = rank([record("retrain", 1.0, seed=0, metric="loss", key="test"),
                 record("x", 2.0, seed=0, metric="loss", key="test")])
    assert g.keys == [] and g.ranked == [] and g.unranked == ["x"]
