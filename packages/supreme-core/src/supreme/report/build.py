"""``write_report``: every output of ``supreme report RUN_DIR``.

Always written (standard library and NumPy): ``results.csv``, ``tables.md`` (opening with the
summary of :mod:`supreme.report.summary`), ``tables.tex``,
``ranking.csv``, ``leaderboard.md`` and ``report.html``. With the ``report`` extra
(matplotlib and pyarrow): ``results.parquet`` and ``plots/*.png|svg`` too; without it those
are skipped with one warning naming ``pip install "supreme-core[report]"``.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from supreme.report import grid as grid_mod
from supreme.report import html_report, leaderboard, legend, ranking, references
from supreme.report import summary as summary_mod
from supreme.report.failures import failure_rows
from supreme.report.load import load_results
from supreme.report.palette import palette
from supreme.report.tables import (
    details_markdown,
    latex,
    markdown,
    split_details,
    summarise,
    tidy_csv,
    write_parquet,
)
from supreme.store import atomic_write_bytes

EXTRA_HINT = 'pip install "supreme-core[report]"'


def _missing(*modules: str) -> list[str]:
    """The modules of ``modules`` that cannot be imported."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def _failures_markdown(failures: list[dict]) -> list[str]:
    if not failures:
        return []
    out = [f"## Failures ({len(failures)})", "", "| cell | method | metric | stage | error |",
           "|---|---|---|---|---|"]
    for f in failure_rows(failures):
        error = f"{f['error_type']}: {f['error']}" if f["error_type"] else f["error"]
        cells = [f["cell"], f["method"], f["metric"], f["stage"], " ".join(error.split())]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out.append("")
    return out


def write_report(run_dir: str | Path, out_dir: str | Path | None = None, *,
                 rank_by: Sequence[str] | None = None) -> dict[str, Path]:
    """Write the report of ``RUN_DIR`` under ``RUN_DIR/report`` (or ``out_dir``).

    ``rank_by``: ``metric:key`` names for the ranking distance (default:
    :data:`supreme.report.ranking.DEFAULT_RANK_BY`). Returns ``{kind: path}`` of what was
    written; ``plots`` is the plots folder.
    """
    results = load_results(run_dir)
    every: list[dict[str, Any]] = list(results.records)  # type: ignore[arg-type]
    # a value a metric declared non-finite is null: listed in the CSV and Parquet files,
    # left out of every statistic, ranking and plot
    finite = [r for r in every if r.get("value") is not None]
    # keys a metric declared details (per-layer values...): out of the summary tables,
    # leaderboard and plots, into a details section; a ranking may still name one
    records, details = split_details(finite)
    failures: list[dict[str, Any]] = list(results.failures)  # type: ignore[arg-type]
    gates = results.gates
    keys = ranking.parse_rank_by(rank_by)
    rankings = ranking.rank(finite, keys, explicit=bool(rank_by))
    summaries = summarise(records)
    detail_summaries = summarise(details)
    config = html_report.load_config(run_dir)
    overview = summary_mod.build(records, rankings, gates, failures, config)
    styles = palette(r["method"] for r in records)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "report"
    files = {"csv": out / "results.csv", "markdown": out / "tables.md", "latex": out / "tables.tex",
             "ranking": out / "ranking.csv", "leaderboard": out / "leaderboard.md"}

    after = {(g.dataset, g.model, g.scenario): ranking.markdown_section(g) for g in rankings}
    grid = [r for r in results.grid if r.get("value") is not None]
    metrics = legend.describe([*(r["metric"] for r in finite), *(r["metric"] for r in grid)])
    atomic_write_bytes(files["csv"], tidy_csv(every).encode())
    tables = "\n".join(summary_mod.markdown(overview)) + "\n" + markdown(summaries, after,
                      grid_mod.markdown(grid) + references.section_markdown(gates)
                      + _failures_markdown(failures) + legend.markdown(metrics)
                      + details_markdown(detail_summaries))
    banner = "\n".join(references.banner_markdown(gates))
    atomic_write_bytes(files["markdown"], (banner + "\n" + tables if banner else tables).encode())
    atomic_write_bytes(files["latex"], latex(summaries).encode())
    atomic_write_bytes(files["ranking"], ranking.ranking_csv(rankings).encode())
    board = leaderboard.leaderboard(finite, keys, grid=grid)
    atomic_write_bytes(files["leaderboard"], (banner + "\n" + board if banner else board).encode())

    missing = _missing("matplotlib", "pyarrow")
    if missing:
        skipped = [what for module, what in (("pyarrow", "results.parquet"), ("matplotlib", "the plots"))
                   if module in missing]
        warnings.warn(f"{' and '.join(missing)} not installed: skipped {' and '.join(skipped)}; "
                      f"install the report extra with {EXTRA_HINT}", stacklevel=2)
    if "pyarrow" not in missing:
        files["parquet"] = out / "results.parquet"
        write_parquet(every, files["parquet"])
    plots = []
    if "matplotlib" not in missing:
        files["plots"] = out / "plots"
        from supreme.report.plots import write_plots

        plots = write_plots(records, files["plots"], keys, rankings=rankings, tables=summaries)
        files["plots"].mkdir(parents=True, exist_ok=True)
    note = (f"Plots skipped: matplotlib is not installed ({EXTRA_HINT})." if "matplotlib" in missing
            else "No plot for this group.")
    experiment = ", ".join(dict.fromkeys(str(r["experiment"]) for r in records if r.get("experiment")))
    page = html_report.render(summaries, rankings, plots, failures, experiment=experiment,
                              config=config, plots_note=note,
                              gates=gates, details=detail_summaries, legend=metrics, grid=grid,
                              overview=overview, styles=styles, records=records)
    files["html"] = out / "report.html"
    atomic_write_bytes(files["html"], page.encode())
    return files
