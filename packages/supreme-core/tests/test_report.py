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
