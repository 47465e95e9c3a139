"""The summary a report opens with (HTML, Markdown, console), its figures and palette."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from supreme.report import rank, write_report
from supreme.report import summary as summary_mod
from supreme.report.html_report import SCRIPT
from supreme.report.palette import COLOURS, palette
from supreme.report.plots import heatmap_data
from test_report import ranking_records, record
from test_report_outputs import detail_run, full_run, parse_html, with_time

GATE_OK = {"dataset": "toy", "model": "tiny", "scenario": "fullclass", "target": "a",
           "train_seed": 0, "unlearn_seed": 0, "passed": True, "failed": [],
           "accuracies": {"original_train": 99.0, "original_test": 95.0,
                          "retrain_retain_test": 90.0, "retrain_forget_test": 0.0},
           "checks": []}
GATE_BAD = {**GATE_OK, "train_seed": 1, "unlearn_seed": 1, "passed": False,
            "failed": ["retrain_retain_test"],
            "accuracies": {**GATE_OK["accuracies"], "retrain_retain_test": 61.0},
            "checks": [{"name": "retrain_retain_test", "what": "M_r retain-test accuracy",
                        "value": 61.0, "op": ">=", "threshold": 80.0, "passed": False}]}


def with_gates(run_dir: Path, *gates: dict[str, Any]) -> Path:
    (run_dir / "gates.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gates))
    return run_dir


def summary_rows(table: ET.Element) -> list[list[str]]:
    body = table.find("tbody")
    assert body is not None
    return [["".join(td.itertext()) for td in tr] for tr in body]


# ---------------------------------------------------------------- the summary itself

def test_rows_follow_the_ranking_with_retrain_first() -> None:
    records = with_time(ranking_records())
    rankings = rank(records)
    (s,) = summary_mod.build(records, rankings)
    assert [r.method for r in s.rows] == ["retrain", *(m.method for m in rankings[0].ranked)]
    assert [(r.method, r.rank, r.role) for r in s.rows] == [
        ("retrain", None, "reference"), ("a", 1, "method"), ("b", 2, "method"),
        ("original", 3, "baseline")]
    a = s.rows[1]
    # the ranking's own distances, with a bootstrap interval around their mean
    assert a.distances == rankings[0].ranked[0].distances
    assert a.distance == pytest.approx(11 / 9)
    assert a.ci is not None and a.ci[0] <= a.distance <= a.ci[1]
    assert [c[0] for c in s.columns] == ["Forget acc.", "Retain acc.", "MIA", "Time (s)"]
    assert summary_mod.row_cells(s, a) == ["1", "a", "1.22 [0.667, 1.67]", "2.00 ± 2.00",
                                           "89.00 ± 1.00", "0.107 ± 0.012", "3.00 ± 1.00",
                                           "3/1/1"]
    assert summary_mod.distance_text(s.rows[0]) == "0 (reference)"


def test_significance_marks_come_from_the_ranking() -> None:
    records = [r for r in ranking_records(seeds=6) if r["method"] in ("retrain", "a", "b")]
    (g,) = rank(records)
    (s,) = summary_mod.build(records, [g])
    a, b = s.ranked
    # 6 seeds, b farther than a on every one: p = 2/64, significant against rank 1 and
    # against the method just above (here the same test)
    assert not a.farther_than_best and not a.farther_than_above
    assert b.farther_than_best and b.farther_than_above
    assert summary_mod.distance_text(b).endswith(" *†")
    assert b.p_best_holm == pytest.approx(2 / 64)
    # with 3 seeds nothing is significant: no mark
    (s3,) = summary_mod.build(with_time(ranking_records()), rank(with_time(ranking_records())))
    assert not any(summary_mod.marks(r) for r in s3.rows)


def test_unranked_methods_come_last() -> None:
    records = [*ranking_records(), record("c", 1.0, seed=0, metric="loss", key="test")]
    (s,) = summary_mod.build(records, rank(records))
    assert [r.method for r in s.rows][-1] == "c"
    assert s.rows[-1].rank is None and summary_mod.distance_text(s.rows[-1]) == "–"


def test_no_tuning_information_means_default_rows() -> None:
    records = ranking_records()
    assert summary_mod.is_tuned("a", records) is False
    assert summary_mod.is_tuned("a", records, {"name": "x", "tuned": {}}) is False
    (s,) = summary_mod.build(records, rank(records))
    assert not s.any_tuned and "Setting" not in summary_mod.header(s)


def test_a_tuned_row_is_marked_once() -> None:
    records = ranking_records()
    records += [{**r, "method": "a@tuned"} for r in records if r["method"] == "a"]
    # the fragment of supreme tune puts the row's provenance into the configuration
    config = {"tuned": {"a@tuned": {"method": "a", "study": "s1", "trials": 20}}}
    assert summary_mod.is_tuned("a@tuned", [], config)
    assert not summary_mod.is_tuned("a", [], config)
    (s,) = summary_mod.build(records, rank(records), config=config)
    assert summary_mod.header(s)[:3] == ["Rank", "Method", "Setting"]
    cells = {r.method: summary_mod.row_cells(s, r) for r in s.rows}
    assert cells["a@tuned"][1:3] == ["a@tuned", "tuned"] and cells["a"][1:3] == ["a", "default"]
    assert cells["retrain"][2] == cells["original"][2] == "reference"


def test_markdown_opens_with_the_summary(tmp_path: Path) -> None:
    files = write_report(full_run(tmp_path))
    md = files["markdown"].read_text()
    assert md.startswith("# Summary\n\n## toy / tiny / fullclass\n\n| Rank | Method | Distance")
    summary = md[:md.index("# Results")]
    lines = [line for line in summary.splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[1] for line in lines[1:]] == ["retrain", "a", "b", "original"]
    assert "Seeds: I=3 training × J=1 unlearning × K=1 evaluation seed(s)" in summary
    assert "averaged over the targets" in summary and "bootstrap" in summary


# ---------------------------------------------------------------- HTML

def test_the_summary_table_is_the_first_thing_after_the_banners(tmp_path: Path) -> None:
    files = write_report(detail_run(tmp_path))
    root = parse_html(files["html"].read_text())
    first = next(root.iter("table"))
    assert first.get("id") == "summary-1"
    ranking_csv = files["ranking"].read_text().splitlines()[1:]
    ranked = [line.split(",")[4] for line in ranking_csv]
    assert [r[1] for r in summary_rows(first)] == ["retrain", *ranked]
    # the per-layer values are folded in the details, never in the summary
    assert "layer." not in ET.tostring(first, encoding="unicode")
    section = root.find("body/section")
    assert section is not None
    details = section.find("details[@class='details']")
    assert details is not None and "layer.conv1" in ET.tostring(details, encoding="unicode")
    # every figure has alt text; the overview comes right after the summary's note
    images = list(root.iter("img"))
    assert images and all(len((img.get("alt") or "").strip()) > 20 for img in images)
    children = [e.tag for e in section]
    assert children[:5] == ["h2", "div", "p", "figure", "details"]


def test_gate_banners_appear_for_a_failed_gate_only(tmp_path: Path) -> None:
    passed = with_gates(full_run(tmp_path / "ok"), GATE_OK)
    page = write_report(passed)["html"].read_text()
    assert 'class="banner' not in page
    assert not write_report(passed)["markdown"].read_text().startswith("> **Warning")

    failed = with_gates(full_run(tmp_path / "bad"), GATE_OK, GATE_BAD)
    files = write_report(failed)
    text = files["html"].read_text()
    root = parse_html(text)
    # the page's banner, above the summary, and the group's own, naming the failed check
    assert text.index('<div class="banner"') < text.index('<table class="summary')
    group = root.find("body/section[@id='group-1']")
    assert group is not None
    (banner,) = [d for d in group.iter("div") if "gate-banner" in (d.get("class") or "")]
    said = "".join(banner.itertext())
    assert "failed their checks in 1 of 2 cells of this group" in said
    assert "toy/tiny/fullclass:a s_t=1 s_u=1: M_r retain-test accuracy 61.00% < 80.00%" in said
    # retrain's own row says how far M_r got
    assert summary_rows(next(root.iter("table")))[0][:2] == ["ref.", "retrain"]
    md = files["markdown"].read_text()
    assert md.startswith("> **Warning: the reference models failed their checks in 1 of 2 cells.**")
    assert "failed their checks in 1 of 2 cells of this group**" in md


def test_the_page_is_self_contained_and_its_script_keeps_it_xml() -> None:
    assert "<" not in SCRIPT and "&" not in SCRIPT  # the page must stay well-formed XML
    assert "http" not in SCRIPT and "fetch" not in SCRIPT


def test_dark_mode_and_print_rules_are_in_the_page(tmp_path: Path) -> None:
    text = write_report(full_run(tmp_path))["html"].read_text()
    assert "@media (prefers-color-scheme: dark)" in text and "@media print" in text
    assert '<meta name="color-scheme" content="light dark"/>' in text


# ---------------------------------------------------------------- figures and palette

def test_the_palette_is_keyed_by_method_name() -> None:
    one = palette(["zeta", "alpha", "retrain", "original", "mid"])
    two = palette(["mid", "original", "alpha", "zeta", "retrain", "mid"])
    assert one == two
    assert one["retrain"].colour == "#000000" and one["original"].colour == "#7F7F7F"
    assert [one[m].colour for m in ("alpha", "mid", "zeta")] == list(COLOURS[:3])
    many = palette([f"m{i:02d}" for i in range(len(COLOURS) + 2)])
    assert many["m00"].colour == many[f"m{len(COLOURS):02d}"].colour
    assert many["m00"].marker != many[f"m{len(COLOURS):02d}"].marker  # then the marker differs


def _fills(svg: str, gid: str) -> set[str]:
    """The fill colours drawn inside the SVG group ``gid``."""
    root = ET.fromstring(svg)
    found: set[str] = set()
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if g.get("id") == gid:
            for e in g.iter():
                found |= {c.lower() for c in re.findall(r"fill:\s*(#[0-9a-fA-F]{6})", e.get("style", ""))}
    return found


def test_a_method_has_one_colour_in_every_figure(tmp_path: Path) -> None:
    files = write_report(full_run(tmp_path))
    colours = palette(["retrain", "a", "b", "original"])
    plots = files["plots"]
    overview = (plots / "toy-tiny-fullclass-overview.svg").read_text()
    quality = (plots / "toy-tiny-fullclass-time-quality.svg").read_text()
    distributions = (plots / "toy-tiny-fullclass-distributions.svg").read_text()
    # first-seen order in the scatter plots: retrain, a, b, original
    for n, method in enumerate(["retrain", "a", "b", "original"]):
        colour = colours[method].colour.lower()
        for svg, gid in ((overview, f"points-{n}"), (quality, f"points-{n}")):
            if method == "retrain":  # black: SVG's default fill, which matplotlib leaves out
                assert _fills(svg, gid) <= {"#000000"}, gid
            else:
                assert _fills(svg, gid) == {colour}, (method, gid)
    # the distributions draw a panel's points as one collection, in the summary's order
    # (retrain, a, b, original: 3 seeds each), each point in its method's colour
    root = ET.fromstring(distributions)
    (panel,) = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("id") == "panel0-points"]
    drawn = [(re.findall(r"fill:\s*(#[0-9a-fA-F]{6})", e.get("style", "")) or ["#000000"])[0].lower()
             for e in panel.iter("{http://www.w3.org/2000/svg}use")]
    assert drawn == [colours[m].colour.lower() for m in ("retrain", "a", "b", "original")
                     for _ in range(3)]
    # the summary table's swatches use the same colours
    page = files["html"].read_text()
    for method in ("a", "b"):
        assert (f'data-method="{method}"><td class="name" data-sort="' in page)
        assert f"background:{colours[method].colour}" in page


def test_the_heat_map_scales_each_key_by_its_own_range_and_keeps_the_sign() -> None:
    data = heatmap_data(with_time(ranking_records()), ["a", "b", "original"])
    assert data.methods == ["a", "b", "original"]
    forget = data.keys.index(("accuracy", "forget_test"))
    # Δ forget: a 2, b 10, original 100 -> scaled by 100
    assert [row[forget] for row in data.delta] == pytest.approx([2.0, 10.0, 100.0])
    assert [row[forget] for row in data.scaled] == pytest.approx([0.02, 0.1, 1.0])
    seconds = data.keys.index(("time", "unlearn_seconds"))
    # per seed, a is 8 s faster than retrain, b 9 s, original 10 s: negative, scaled by 10
    assert [row[seconds] for row in data.delta] == pytest.approx([-8.0, -9.0, -10.0])
    assert [row[seconds] for row in data.scaled] == pytest.approx([-0.8, -0.9, -1.0])
    assert all(-1 <= v <= 1 for row in data.scaled for v in row if v is not None)


def test_console_summary_shows_the_same_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from supreme.cli.output import print_results
    from supreme.pipeline.results import Results

    records = with_time(ranking_records())
    results = Results(records, tmp_path, gates=[GATE_OK])  # type: ignore[arg-type]
    print_results(results)
    out = capsys.readouterr().out
    head = out[:out.index("(mean ± std over 3 cells)")]  # before the table of every key
    for column in ("Rank", "Method", "Distance to retrain [95% CI]", "Forget acc.", "Retain acc.",
                   "MIA", "Time (s)"):
        assert column in head
    order = [m for m in re.findall(r"│ (?:ref\.|\d+)\s+│ (\w+)", head)]
    assert order == ["retrain", "a", "b", "original"]
    assert "1.22 [0.667, 1.67]" in head
