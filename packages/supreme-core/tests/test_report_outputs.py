"""Report outputs: Parquet, leaderboard, plots, HTML, failures, the missing-extra path, CLI."""

from __future__ import annotations

import base64
import json
import re
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from supreme.cli.main import main
from supreme.report import write_report
from supreme.report.failures import cell_label, load_failures
from supreme.report.leaderboard import forget_size, leaderboard
from supreme.report.plots import scatter_points, time_quality_points
from supreme.report.tables import TIDY_COLUMNS
from test_report import ranking_records, record, write_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


def with_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seconds = {"retrain": 10.0, "original": 0.0, "a": 2.0, "b": 1.0}
    extra = [record(m, seconds[m] + s, seed=s, metric="time", key="unlearn_seconds")
             for s in range(3) for m in seconds]
    return records + extra


def full_run(tmp_path: Path, failures: list[dict[str, Any]] | None = None) -> Path:
    records = with_time(ranking_records())
    for r in records:
        r["artifact"] = f"unlearn/{r['method']}-{r['train_seed']}"
        r["provenance"] = {"method": {"plugin": "p", "version": "1.0"}}
    run_dir = write_run(tmp_path / "run", records)
    (run_dir / "config.json").write_text(json.dumps({"name": "x", "datasets": ["toy"]}))
    if failures is not None:
        (run_dir / "failures.jsonl").write_text("".join(json.dumps(f) + "\n" for f in failures))
    return run_dir


def parse_html(text: str) -> ET.Element:
    assert text.startswith("<!DOCTYPE html>\n")
    return ET.fromstring(text.removeprefix("<!DOCTYPE html>\n"))  # the page is well-formed XML


# ---------------------------------------------------------------- Parquet

def test_parquet_has_the_csv_columns_and_types(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = write_report(full_run(tmp_path))
    table = pq.read_table(files["parquet"])
    assert tuple(table.column_names) == TIDY_COLUMNS
    assert files["csv"].read_text().splitlines()[0] == ",".join(TIDY_COLUMNS)
    assert table.num_rows == len(with_time(ranking_records()))
    assert table.schema.field("train_seed").type == pa.int64()
    assert table.schema.field("value").type == pa.float64()
    assert table.schema.field("target").type == pa.string()
    rows = table.to_pylist()
    assert rows[1]["method"] == "retrain" and rows[1]["key"] == "retain_test" and rows[1]["value"] == 90.0
    assert json.loads(rows[0]["provenance"]) == {"method": {"plugin": "p", "version": "1.0"}}
    assert rows[0]["artifact"] == "unlearn/retrain-0"


def test_parquet_of_records_without_provenance_has_nulls(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    files = write_report(write_run(tmp_path / "run", [record("retrain", 1.0, seed=0)]))
    (row,) = pq.read_table(files["parquet"]).to_pylist()
    assert row["provenance"] is None and row["artifact"] is None and row["value"] == 1.0


# ---------------------------------------------------------------- leaderboard

def test_leaderboard_rows_in_the_community_format() -> None:
    records = [
        record("retrain", 0.0, seed=0), record("retrain", 2.0, seed=1),
        record("retrain", 90.0, seed=0, key="retain_test"),
        record("retrain", 92.0, seed=1, key="retain_test"),
        record("retrain", 10.0, seed=0, metric="time", key="unlearn_seconds"),
        record("retrain", 12.0, seed=1, metric="time", key="unlearn_seconds"),
        record("original", 100.0, seed=0), record("original", 99.0, seed=1),
        record("original", 95.0, seed=0, key="retain_test"),
        record("original", 95.0, seed=1, key="retain_test"),
        record("ft|x", 4.0, seed=0), record("ft|x", 8.0, seed=1),
        record("ft|x", 91.0, seed=0, key="retain_test"), record("ft|x", 91.0, seed=1, key="retain_test"),
        record("ft|x", 1.5, seed=0, metric="time", key="unlearn_seconds"),
    ]
    text = leaderboard(records)
    section = text[text.index("## Full-class unlearning: toy / tiny"):].splitlines()
    assert section[4:9] == [
        "| Method | Forget acc. | Retain acc. | MIA | Time (s) | Seeds (T/U/E) | Model link |",
        "|---|---|---|---|---|---|---|",
        "| Retrain (reference) | 1.00 ± 1.41 | 91.00 ± 1.41 | – | 11.00 ± 1.41 | 2/1/1 | – |",
        "| Original (no unlearning) | 99.50 ± 0.71 | 95.00 ± 0.00 | – | – | 2/1/1 | – |",
        "| ft\\|x | 6.00 ± 2.83 | 91.00 ± 0.00 | – | 1.50 | 2/1/1 | – |",
    ]


def test_leaderboard_adds_the_relearn_column_only_where_it_was_measured() -> None:
    records = [record("retrain", 0.0, seed=0), record("original", 100.0, seed=0),
               record("retrain", 40.0, seed=0, metric="relearn_time", key="steps"),
               record("original", 0.0, seed=0, metric="relearn_time", key="steps"),
               {**record("retrain", 1.0, seed=0), "dataset": "other"}]
    text = leaderboard(records)
    assert "Relearn (steps): SGD steps on the forget set" in text
    toy = text[text.index("## Full-class unlearning: toy / tiny"):].splitlines()
    assert toy[4] == ("| Method | Forget acc. | Retain acc. | MIA | Time (s) | Relearn (steps) "
                      "| Seeds (T/U/E) | Model link |")
    assert toy[6] == "| Retrain (reference) | 0.00 | – | – | – | 40 | 1/1/1 | – |"
    assert toy[7] == "| Original (no unlearning) | 100.00 | – | – | – | 0 | 1/1/1 | – |"
    other = text[text.index("## Full-class unlearning: other / tiny"):].splitlines()
    assert "Relearn" not in other[4]  # not measured in that section: the community columns
    assert "Relearn" not in leaderboard(records[:2])


def test_the_metrics_legend_gives_each_metric_its_own_line(tmp_path: Path, toy: Any) -> None:
    from supreme.report import legend

    described = legend.describe(["toy_accuracy", "gone", "toy_accuracy"])
    assert described == [("toy_accuracy", toy.ToyAccuracy.describe()), ("gone", legend.NOT_INSTALLED)]
    assert toy.ToyAccuracy.describe()  # a real line, from the class docstring
    run = write_run(tmp_path / "run", [record("retrain", 0.0, seed=0, metric="toy_accuracy")])
    files = write_report(run)
    tables = files["markdown"].read_text()
    assert f"# Metrics\n\n{legend.READING}\n\n- `toy_accuracy`: {toy.ToyAccuracy.describe()}\n" \
        in tables
    page = files["html"].read_text()
    assert '<a href="#metrics">Metrics</a>' in page
    assert f"<dt><code>toy_accuracy</code></dt><dd>{toy.ToyAccuracy.describe()}</dd>" in page


def test_leaderboard_sections_per_scenario_and_forget_size() -> None:
    def rnd(target: str) -> dict[str, Any]:
        return {**record("retrain", 1.0, seed=0), "scenario": "random", "target": target,
                "dataset": "cifar10", "model": "vit"}

    text = leaderboard([record("retrain", 1.0, seed=0), rnd("0.01"), rnd("0.1"), rnd("50")])
    titles = [line for line in text.splitlines() if line.startswith("## ")]
    assert titles == ["## Full-class unlearning: toy / tiny",
                      "## Random-sample unlearning: cifar10 / vit (forget 1%)",
                      "## Random-sample unlearning: cifar10 / vit (forget 10%)",
                      "## Random-sample unlearning: cifar10 / vit (forget 50 samples)"]
    assert forget_size("0.001") == "forget 0.1%"


def test_leaderboard_orders_methods_by_ranking(tmp_path: Path) -> None:
    text = write_report(full_run(tmp_path))["leaderboard"].read_text()
    names = [line.split(" | ")[0][2:] for line in text.splitlines() if line.startswith("| ")][1:]
    assert names == ["Retrain (reference)", "Original (no unlearning)", "a", "b"]
    # MIA is measured here: retrain 0.1 on every seed
    assert ("| Retrain (reference) | 0.00 ± 0.00 | 90.00 ± 0.00 | 0.100 ± 0.000 | 11.00 ± 1.00 "
            "| 3/1/1 | – |") in text


# ---------------------------------------------------------------- plots

def test_scatter_and_time_quality_data() -> None:
    records = with_time(ranking_records())
    points = scatter_points(records)
    assert len(points) == 4 * 3  # one per method per seed
    a = [(p.seed[0], p.x, p.y) for p in points if p.method == "a"]
    assert a == [(0, 2.0, 89.0), (1, 4.0, 90.0), (2, 0.0, 88.0)]
    quality = time_quality_points(records)
    retrain = [(p.x, p.y) for p in quality if p.method == "retrain"]
    assert retrain == [(10.0, 0.0), (11.0, 0.0), (12.0, 0.0)]
    b = [p for p in quality if p.method == "b"]
    assert [p.x for p in b] == [1.0, 2.0, 3.0]
    assert [p.y for p in b] == pytest.approx([10 / 3, 4.0, 8 / 3])


def _markers(svg: Path) -> dict[str, int]:
    """Per ``points-N`` group of an SVG: how many markers (``use`` or ``path``) it draws."""
    root = ET.parse(svg).getroot()
    counts = {}
    for g in root.iter(f"{SVG}g"):
        gid = g.get("id", "")
        if re.fullmatch(r"points-\d+", gid):
            defs = {id(e) for d in g.iter(f"{SVG}defs") for e in d.iter()}
            counts[gid] = sum(1 for e in g.iter() if e.tag in (f"{SVG}use", f"{SVG}path")
                              and id(e) not in defs)
    return counts


def test_plot_files(tmp_path: Path) -> None:
    files = write_report(full_run(tmp_path))
    plots = files["plots"]
    names = sorted(p.name for p in plots.iterdir())
    stems = sorted({n.rsplit(".", 1)[0] for n in names})
    # three figures per group, however many metrics: no figure per metric key
    assert stems == sorted(["toy-tiny-fullclass-overview", "toy-tiny-fullclass-distributions",
                            "toy-tiny-fullclass-time-quality"])
    assert len(names) == 2 * len(stems)
    for stem in stems:
        assert (plots / f"{stem}.png").read_bytes().startswith(PNG_MAGIC)
        assert ET.parse(plots / f"{stem}.svg").getroot().tag == f"{SVG}svg"
    # methods in first-seen order: retrain, a, b, original; 3 seeds each
    assert _markers(plots / "toy-tiny-fullclass-overview.svg") == {
        "points-0": 3, "points-1": 3, "points-2": 3, "points-3": 3}
    assert _markers(plots / "toy-tiny-fullclass-time-quality.svg") == {
        "points-0": 3, "points-1": 3, "points-2": 3, "points-3": 3}
    # the same report twice gives the same SVG (hash salt and no date)
    first = (plots / "toy-tiny-fullclass-overview.svg").read_bytes()
    write_report(tmp_path / "run")
    assert (plots / "toy-tiny-fullclass-overview.svg").read_bytes() == first


# ---------------------------------------------------------------- HTML and failures

FAILURES = [
    {"experiment": "x", "dataset": "toy", "model": "tiny", "scenario": "fullclass", "target": "a",
     "train_seed": 0, "unlearn_seed": 1, "eval_seed": 1, "method": "<b>evil</b>", "metric": None,
     "stage": "unlearn <b>evil</b>", "error_type": "RuntimeError",
     "error": "boom <script>alert(1)</script> & more"},
    {"experiment": "x", "dataset": "toy", "model": "tiny", "scenario": "fullclass", "target": "a",
     "train_seed": 0, "unlearn_seed": 0, "eval_seed": 0, "method": "a", "metric": "mia",
     "stage": "evaluate a:mia", "error_type": "ValueError", "error": "bad"},
]


def test_html_report_structure(tmp_path: Path) -> None:
    files = write_report(full_run(tmp_path, FAILURES))
    text = files["html"].read_text()
    root = parse_html(text)
    # self-contained: one inline script (sorting, print), no external resource
    assert "<link" not in text and 'src="http' not in text and "<script src" not in text
    assert text.count("<script>") == 1
    body = root.find("body")
    assert body is not None
    (group,) = body.findall("section[@id='group-1']")
    assert group.findtext("h2") == "toy / tiny / fullclass"
    # summary first: the section's first table is the ranked summary
    summary = next(group.iter("table"))
    assert summary.get("class") == "summary sortable"
    head = ["".join(th.itertext()) for th in summary.iter("th")]
    assert head == ["Rank", "Method", "Distance to retrain [95% CI]", "Forget acc.", "Retain acc.",
                    "MIA", "Time (s)", "Seeds (I/J/K)"]
    rows = [["".join(td.itertext()) for td in tr] for tr in summary.find("tbody")]  # type: ignore[union-attr]
    assert [r[:2] for r in rows] == [["ref.", "retrain"], ["1", "a"], ["2", "b"], ["3", "original"]]
    assert rows[0][2:5] == ["0 (reference)", "0.00 ± 0.00", "90.00 ± 0.00"]
    assert rows[1][2].startswith("1.22 [")  # 11/9, with its bootstrap interval
    # the tables of every key, the ranking's p-values and the figures beyond the overview
    # are folded below it
    folds = {d.get("class"): d for d in group.findall("details")}
    assert set(folds) >= {"figure", "values", "deltas", "ranking", "per-seed"}
    values = folds["values"].find(".//table")
    assert values is not None
    assert [th.text for th in values.iter("th")] == ["metric", "key", "retrain", "a", "b", "original"]
    first = [td.text for td in values.find("tbody").find("tr")]  # type: ignore[union-attr]
    assert first == ["accuracy", "forget_test", "0 ± 0", "2 ± 2", "10 ± 2", "100 ± 0"]
    delta = [td.text for td in folds["deltas"].find(".//tbody/tr")]  # type: ignore[union-attr]
    assert delta == ["accuracy", "forget_test", "2 ± 2 [0, 4]", "10 ± 2 [8, 12]", "100 ± 0 [100, 100]"]
    ranks = [[td.text or "" for td in tr] for tr in folds["ranking"].find(".//tbody")]  # type: ignore[union-attr]
    assert [r[:3] for r in ranks] == [["1", "a", "3"], ["2", "b", "3"], ["3", "original", "3"]]
    assert ranks[0][5] == "0.25 (Holm 0.5)"
    seeds = [[td.text or "" for td in tr] for tr in folds["per-seed"].find(".//tbody")]  # type: ignore[union-attr]
    assert seeds[3][:5] == ["a", "0", "0", "0", "1.667"]  # retrain's three seeds come first
    assert "I=3 training × J=1 unlearning × K=1" in "".join(group.find("p").itertext())  # type: ignore[union-attr]
    images = list(group.iter("img"))
    assert len(images) == 3  # the overview, then the distributions and time figures, folded
    assert group.find("figure/img") is images[0]
    for img in images:
        assert img.get("src", "").startswith("data:image/png;base64,")
        assert base64.b64decode(img.get("src", "").split(",", 1)[1]).startswith(PNG_MAGIC)
        assert len(img.get("alt", "")) > 40  # says what the figure shows
    # the failures: a banner above everything, one in the group, and the section, escaped
    assert text.index('class="banner failure-banner"') < text.index("<nav")
    assert "2 stage(s) of this group failed" in ET.tostring(group, encoding="unicode")
    (failures,) = body.findall("section[@id='failures']")
    rows = [[td.text or "" for td in tr] for tr in failures.find("table").find("tbody")]  # type: ignore[union-attr]
    assert rows[0] == ["toy/tiny/fullclass:a s_t=0 s_u=1 s_e=1", "<b>evil</b>", "",
                       "unlearn <b>evil</b>", "RuntimeError: boom <script>alert(1)</script> & more"]
    assert rows[1][1:4] == ["a", "mia", "evaluate a:mia"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in text
    config = body.find("details[@class='config']/pre")
    assert config is not None
    assert json.loads(config.text or "") == {"datasets": ["toy"], "name": "x"}
    # also in the Markdown tables
    md = files["markdown"].read_text()
    assert "## Failures (2)" in md
    assert "| toy/tiny/fullclass:a s_t=0 s_u=0 s_e=0 | a | mia | evaluate a:mia | ValueError: bad |" in md


def test_html_escapes_method_names(tmp_path: Path) -> None:
    name = '<img src=x onerror="alert(1)">'
    records = [record("retrain", 0.0, seed=0), record(name, 5.0, seed=0),
               record("retrain", 1.0, seed=1), record(name, 7.0, seed=1)]
    text = write_report(write_run(tmp_path / "run", records))["html"].read_text()
    root = parse_html(text)
    assert "<img src=x" not in text
    assert name in [th.text for th in root.iter("th")]
    assert all(img.get("src", "").startswith("data:image/png;base64,") for img in root.iter("img"))


def test_no_failures_no_section(tmp_path: Path) -> None:
    run_dir = full_run(tmp_path, failures=[])
    assert load_failures(run_dir) == []
    root = parse_html(write_report(run_dir)["html"].read_text())
    assert root.find("body/section[@id='failures']") is None
    assert "no failed stage(s)" in "".join(root.find("body/p").itertext())  # type: ignore[union-attr]


def test_failures_file_errors_and_labels(tmp_path: Path) -> None:
    from supreme.errors import UsageError

    (tmp_path / "failures.jsonl").write_text('{"stage": "x"}\n\nnot json\n')
    with pytest.raises(UsageError, match="failures.jsonl:3 is not a JSON record"):
        load_failures(tmp_path)
    assert cell_label({"dataset": "d", "model": "m", "scenario": "random", "target": "0.01",
                       "train_seed": 1, "unlearn_seed": 2, "eval_seed": 3}) == \
        "d/m/random:0.01 s_t=1 s_u=2 s_e=3"


# ---------------------------------------------------------------- without the report extra

def test_without_matplotlib_and_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files = write_report(full_run(tmp_path))
    (warning,) = caught
    message = str(warning.message)
    assert 'pip install "supreme-core[report]"' in message
    assert "results.parquet" in message and "plots" in message and "\n" not in message
    assert set(files) == {"csv", "markdown", "latex", "ranking", "leaderboard", "html"}
    out = tmp_path / "run" / "report"
    assert not (out / "results.parquet").exists() and not (out / "plots").exists()
    root = parse_html(files["html"].read_text())
    assert root.find(".//img") is None
    assert "Plots skipped: matplotlib is not installed" in files["html"].read_text()
    assert len(files["ranking"].read_text().splitlines()) == 4


def test_without_pyarrow_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.warns(UserWarning, match=r"pyarrow not installed: skipped results.parquet;") as caught:
        files = write_report(full_run(tmp_path))
    assert len(caught) == 1 and "parquet" not in files and files["plots"].is_dir()


# ---------------------------------------------------------------- CLI

def test_cli_rank_by_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = full_run(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["report", str(run_dir), "--rank-by", "accuracy:retain_test", "--json"])
    assert info.value.code == 0
    files = json.loads(capsys.readouterr().out)
    assert set(files) >= {"csv", "parquet", "html", "ranking", "leaderboard", "plots"}
    ranking = Path(files["ranking"]).read_text().splitlines()
    assert [line.split(",")[4] for line in ranking[1:]] == ["b", "a", "original"]
    assert ranking[1].split(",")[8] == "accuracy:retain_test"
    for bad, message in (("accuracy", "not of the form metric:key"),
                         ("accuracy:nope", "no such metric key")):
        with pytest.raises(SystemExit) as info:
            main(["report", str(run_dir), "--rank-by", bad])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Fix:" in err


def test_cli_without_the_extra_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    run_dir = full_run(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with pytest.raises(SystemExit) as info:
            main(["report", str(run_dir)])
    assert info.value.code == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: matplotlib not installed")
    assert 'pip install "supreme-core[report]"' in lines[0]
    assert "html" in captured.out and "plots" not in captured.out


def test_a_run_where_everything_failed(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", [])
    (run_dir / "failures.jsonl").write_text(json.dumps(FAILURES[1]) + "\n")
    files = write_report(run_dir)
    root = parse_html(files["html"].read_text())
    assert root.findall("body/section") == root.findall("body/section[@id='failures']")
    assert len(root.findall("body/section[@id='failures']/table/tbody/tr")) == 1
    assert files["ranking"].read_text() == ",".join(
        ["dataset", "model", "scenario", "rank", "method", "seeds", "distance_mean", "distance_std",
         "keys", "next_method", "p_next", "p_next_holm", "significant_next", "p_best",
         "p_best_holm", "significant_best"]) + "\n"
    assert files["leaderboard"].read_text().startswith("# Leaderboard\n")
    assert "## Failures (1)" in files["markdown"].read_text()


# ---------------------------------------------------------------- detail keys and file names

def detail_run(tmp_path: Path) -> Path:
    """The full run plus a per-layer metric whose layer keys are details, and two metrics
    whose plot file names would collide (dots in a name, and `a b` / `a_b`)."""
    extra = []
    for s in range(3):
        for m, base in (("retrain", 0.0), ("a", 1.0), ("b", 2.0), ("original", 3.0)):
            extra.append(record(m, base + s, seed=s, metric="layerwise_distance", key="total"))
            for layer in ("layer.conv1", "layer.bn1"):
                extra.append({**record(m, base, seed=s, metric="layerwise_distance", key=layer),
                              "detail": True})
            for metric in ("m.conv1", "m.bn1", "odd name", "odd_name"):
                extra.append(record(m, base + s, seed=s, metric=metric, key="k"))
    return write_run(tmp_path / "run", with_time(ranking_records()) + extra)


def test_detail_keys_stay_out_of_summaries_and_plots_and_into_details(tmp_path: Path) -> None:
    files = write_report(detail_run(tmp_path))
    tables = files["markdown"].read_text()
    summary, details = tables.split("\n# Details\n")
    assert "| layerwise_distance | total |" in summary and "layer.conv1" not in summary
    assert "| layerwise_distance | layer.conv1 |" in details
    assert "| layerwise_distance | layer.bn1 |" in details
    assert "layer." not in files["latex"].read_text()
    assert "layer." not in files["leaderboard"].read_text()
    csv_lines = files["csv"].read_text().splitlines()
    detail_column = TIDY_COLUMNS.index("detail")
    flagged = [line.split(",") for line in csv_lines[1:] if ",layer." in line]
    assert len(flagged) == 2 * 4 * 3 and all(row[detail_column] == "True" for row in flagged)
    root = parse_html(files["html"].read_text())
    section = root.find("body/section")
    assert section is not None
    folded = section.find("details[@class='details']")
    assert folded is not None and "2 per-key values" in (folded.findtext("summary") or "")
    assert [td.text for td in folded.find(".//tbody/tr")][:2] == [  # type: ignore[union-attr]
        "layerwise_distance", "layer.conv1"]
    # nothing per layer outside the details fold: not in the summary, the overview or the
    # other folds
    outside = [e for e in section if e is not folded]
    assert all("layer." not in ET.tostring(e, encoding="unicode") for e in outside)


def test_every_figure_has_its_own_files(tmp_path: Path) -> None:
    """Stems with dots keep their tail (`with_suffix` once cut `m.conv1` to `m`), and groups
    whose names slug alike (`odd name`, `odd_name`) get distinct files."""
    records = []
    for dataset in ("m.conv1", "odd name", "odd_name"):
        records += [{**r, "dataset": dataset} for r in with_time(ranking_records())]
    files = write_report(write_run(tmp_path / "run", records))
    stems = sorted(p.name.rsplit(".", 1)[0] for p in files["plots"].glob("*.png"))
    assert {"m.conv1-tiny-fullclass-overview", "odd_name-tiny-fullclass-overview",
            "odd_name-tiny-fullclass-overview-2"} <= set(stems)
    # three figures per group, each in its own file
    assert len(stems) == len(set(stems)) == 3 * 3
    html = files["html"].read_text()
    assert html.count("<img ") == len(stems)


def test_detail_keys_make_no_figure_of_their_own(tmp_path: Path) -> None:
    """Nine metrics and per-layer details: still three figures, and the distributions
    figure has one panel per summary key (small multiples), none per layer."""
    files = write_report(detail_run(tmp_path))
    stems = sorted(p.name.rsplit(".", 1)[0] for p in files["plots"].glob("*.png"))
    assert stems == ["toy-tiny-fullclass-distributions", "toy-tiny-fullclass-overview",
                     "toy-tiny-fullclass-time-quality"]
    svg = (files["plots"] / "toy-tiny-fullclass-distributions.svg").read_text()
    panels = set(re.findall(r'id="panel(\d+)-points"', svg))
    summary_keys = {(r["metric"], r["key"]) for r in
                    [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").open()]
                    if not r.get("detail")}
    assert len(panels) == len(summary_keys) == 10
    assert "layer.conv1" not in svg
