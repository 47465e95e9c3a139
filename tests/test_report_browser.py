"""``report.html`` opened in a real browser: Debian's Chromium driven by Playwright for
Python (``executable_path``: no browser download; ``.ci/run`` installs Chromium).

The report is that of a small real run, the embedded default experiment (the session's
``default_run``, shared with tests/test_default_experiment.py), reported twice: as it
is, and from a copy whose ``gates.jsonl`` says that M_r failed its retain-accuracy check
(a real under-trained M_r takes a long run to produce; the report reads only that file).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import supreme

pytestmark = pytest.mark.slow
VIEWPORT = {"width": 1280, "height": 800}


def chromium() -> str | None:
    """Debian's Chromium (``SUPREME_CHROMIUM`` overrides the search)."""
    named = os.environ.get("SUPREME_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not installed (it is in the workspace's dev group: uv sync)")
    executable = chromium()
    if executable is None:
        pytest.skip("no Chromium executable (chromium on PATH, or SUPREME_CHROMIUM naming "
                    "one; apt-get install chromium, which .ci/run does as root): the report's "
                    "browser test needs one")
    with sync_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable)
        except Exception as exc:  # a Chromium that cannot start here (no display libs...)
            pytest.skip(f"{executable} does not start headless: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()


def failed_gates(run_dir: Path, into: Path) -> Path:
    """A copy of a run directory whose every gate failed M_r's retain-accuracy check."""
    copy = into / run_dir.name
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("cells", "splits", "report"))
    lines = []
    for line in (copy / "gates.jsonl").read_text().splitlines():
        gate = json.loads(line)
        gate["passed"] = False
        gate["failed"] = ["retrain_retain_test"]
        gate["checks"] = [{"name": "retrain_retain_test", "what": "M_r retain-test accuracy",
                           "value": 61.0, "op": ">=", "threshold": 90.0, "passed": False}]
        lines.append(json.dumps(gate))
    (copy / "gates.jsonl").write_text("\n".join(lines) + "\n")
    return copy


def open_report(browser: Any, html: Path, **context: Any) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport=VIEWPORT, **context)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def test_the_report_reads_summary_first_in_chromium(
        browser: Any, default_run: supreme.Results, tmp_path: Path) -> None:
    from supreme.report import write_report
    from supreme.report.ranking import rank

    run_dir = default_run.run_dir
    html = write_report(run_dir, tmp_path / "report")["html"]
    page, problems = open_report(browser, html)

    # the summary table is the page's first table, and it is in the first viewport
    assert page.evaluate("document.querySelector('table').classList.contains('summary')")
    box = page.locator("table.summary").first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= VIEWPORT["height"], box
    # its rows: retrain first, then the ranking's order
    methods = page.eval_on_selector_all("table.summary tbody tr",
                                        "rows => rows.map(r => r.dataset.method)")
    (ranking,) = rank([r for r in default_run.records if not r.get("detail")])
    assert methods == ["retrain", *(m.method for m in ranking.ranked)]
    # every image loaded and has alt text
    images = page.eval_on_selector_all(
        "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.alt])")
    assert images and all(done and width > 0 and alt.strip() for done, width, alt in images)
    # no failed gate here: no banner
    assert page.locator(".banner").count() == 0
    # every <details> opens on a click and shows what it holds
    folds = page.locator("section.group details")
    assert folds.count() >= 3
    for n in range(folds.count()):
        fold = folds.nth(n)
        assert not fold.evaluate("d => d.open")
        fold.locator("summary").click()
        assert fold.evaluate("d => d.open")
        inner = fold.locator("table, figure").first
        assert inner.is_visible()
    # a sortable heading sorts (the page reads the same without the script)
    page.locator("table.summary th", has_text="Method").click()
    names = page.eval_on_selector_all("table.summary tbody tr",
                                      "rows => rows.map(r => r.dataset.method)")
    assert names == sorted(methods)
    page.screenshot(path=str(tmp_path / "first-viewport.png"))
    page.close()
    assert problems == []

    # dark mode: the page follows the system's colour scheme
    dark, problems = open_report(browser, html, color_scheme="dark")
    background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)", background
    dark.close()
    assert problems == []


def test_a_failed_gate_shows_its_banner_above_the_summary(
        browser: Any, default_run: supreme.Results, tmp_path: Path) -> None:
    from supreme.report import write_report

    run_dir = failed_gates(default_run.run_dir, tmp_path)
    html = write_report(run_dir)["html"]
    page, problems = open_report(browser, html)
    banner = page.locator(".banner").first
    assert banner.is_visible()
    assert "the reference models failed their checks in 1 of 1 cells" in banner.inner_text()
    top = banner.bounding_box()
    summary = page.locator("table.summary").first.bounding_box()
    assert top is not None and summary is not None and top["y"] < summary["y"]
    assert summary["y"] < VIEWPORT["height"]  # the summary is still in the first viewport
    group = page.locator("section.group .gate-banner")
    assert group.count() == 1 and "M_r retain-test accuracy 61.00% < 90.00%" in group.inner_text()
    page.close()
    assert problems == []
