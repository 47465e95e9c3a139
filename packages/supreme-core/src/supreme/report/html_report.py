"""``report.html``: one self-contained page (inline CSS, plots as base64 PNG, no scripts).

Per (dataset, model, scenario): the mean ± std table, the difference-to-retrain table with
95% bootstrap intervals and the seed counts I/J/K, the ranking with its paired tests and
the plots; then the failed stages of ``failures.jsonl`` when there are any, and the
experiment configuration. Every text that comes from a run (method, metric and key names,
error messages, the configuration) is HTML-escaped. The page is also well-formed XML.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from supreme.contracts.method import RETRAIN
from supreme.report import grid as grid_mod
from supreme.report import legend as legend_mod
from supreme.report import ranking as ranking_mod
from supreme.report import references
from supreme.report.failures import failure_rows
from supreme.report.plots import Plot
from supreme.report.tables import Summary, _mean_std

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.name, th.name { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
td.sig { font-weight: bold; } .note { color: #555; font-size: .9em; }
.banner { border: 2px solid #b45309; background: #fff7ed; padding: .5em 1em; margin: 1em 0; }
figure { display: inline-block; margin: .5em 1em .5em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .8em; color: #555; max-width: 560px; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: .85em; }
td.error { text-align: left; font-family: monospace; white-space: pre-wrap; max-width: 40em; }
"""


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], name_columns: int = 1,
           classes: Sequence[Sequence[str]] | None = None) -> list[str]:
    def cls(i: int, extra: str = "") -> str:
        names = " ".join(c for c in (("name" if i < name_columns else ""), extra) if c)
        return f' class="{names}"' if names else ""

    out = ["<table>", "<thead><tr>" + "".join(f"<th{cls(i)}>{escape(h)}</th>"
                                             for i, h in enumerate(header)) + "</tr></thead>",
           "<tbody>"]
    for r, row in enumerate(rows):
        extras = classes[r] if classes else [""] * len(row)
        out.append("<tr>" + "".join(f"<td{cls(i, extras[i])}>{escape(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>")
    out += ["</tbody>", "</table>"]
    return out


def _delta_text(cell: Any) -> str:
    if cell is None or not cell.deltas:
        return ""
    text = _mean_std(cell.deltas)
    if cell.ci is not None and len(cell.deltas) > 1:
        text += f" [{cell.ci[0]:.3g}, {cell.ci[1]:.3g}]"
    return text


def _values_table(s: Summary) -> list[str]:
    """A row per (metric, key), a column per method: mean ± std over seeds."""
    rows = [[m, kk, *[_mean_std(cells[x].values) if x in cells else "" for x in s.methods]]
            for (m, kk), cells in s.rows.items()]
    return _table(["metric", "key", *s.methods], rows, name_columns=2)


def _group_section(index: int, s: Summary, r: ranking_mod.Ranking | None,
                   plots: Sequence[Plot], plots_note: str, details: Summary | None = None
                   ) -> list[str]:
    i, j, k = s.seeds
    out = [f'<section id="group-{index}">',
           f"<h2>{escape(s.dataset)} / {escape(s.model)} / {escape(s.scenario)}</h2>",
           f'<p class="note">Targets: {escape(", ".join(map(str, s.targets)))}. '
           f"Seeds: I={i} training, J={j} unlearning per training seed, K={k} evaluation per "
           "unlearning seed. Values are first averaged over targets per seed.</p>",
           "<h3>Mean ± std over seeds</h3>"]
    out += _values_table(s)
    if details is not None and details.rows:
        out += [f"<details><summary>Details: {len(details.rows)} per-key values the metrics "
                "declare details (e.g. per layer), mean ± std over seeds</summary>",
                *_values_table(details), "</details>"]
    others = [m for m in s.methods if m != RETRAIN]
    out.append("<h3>Difference to retrain (per seed), mean ± std [95% bootstrap CI]</h3>")
    if RETRAIN in s.methods and others:
        rows = [[m, kk, *[_delta_text(cells.get(x)) for x in others]]
                for (m, kk), cells in s.rows.items()]
        out += _table(["metric", "key", *others], rows, name_columns=2)
    else:
        out.append('<p class="note">No retrain row (or no other method): no differences.</p>')
    out.append("<h3>Ranking by distance to retrain</h3>")
    if r is not None:
        out.append(f'<p class="note">{escape(ranking_mod.describe_keys(r))}.</p>')
        if r.keys:
            header, *body = ranking_mod.table_rows(r)
            classes = [["", "", "", "", "", "sig" if row[5].endswith("*") else "",
                        "sig" if row[6].endswith("*") else ""] for row in body]
            out += _table(header, body, name_columns=2, classes=classes)
    out.append("<h3>Plots</h3>")
    if plots:
        # the two overview scatter plots first, then the per-key distributions
        for p in sorted(plots, key=lambda p: p.kind == "distribution"):
            data = base64.b64encode(p.png.read_bytes()).decode("ascii")
            out += ["<figure>",
                    f'<img src="data:image/png;base64,{data}" alt="{escape(p.title)}"/>',
                    f"<figcaption>{escape(p.title)} (also {escape(p.svg.name)})</figcaption>",
                    "</figure>"]
    else:
        out.append(f'<p class="note">{escape(plots_note)}</p>')
    out.append("</section>")
    return out


def render(summaries: Sequence[Summary], rankings: Sequence[ranking_mod.Ranking],
           plots: Sequence[Plot], failures: Sequence[dict[str, Any]], *,
           experiment: str = "", config: dict[str, Any] | None = None,
           plots_note: str = "No plots.", gates: Sequence[dict[str, Any]] = (),
           details: Sequence[Summary] = (),
           legend: Sequence[tuple[str, str]] = (), grid: Sequence[dict[str, Any]] = ()) -> str:
    """The page as a string; ``details``: the summaries of the detail keys, shown folded
    under each group's table; ``legend``: ``(metric, one line)`` (:mod:`.legend`);
    ``grid``: the grid metrics' records (:mod:`.grid`)."""
    by_group = {(r.dataset, r.model, r.scenario): r for r in rankings}
    detail_of = {(d.dataset, d.model, d.scenario): d for d in details}
    title = f"SUPREME report: {experiment}" if experiment else "SUPREME report"
    out = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8"/>',
           '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
           f"<title>{escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
           f"<h1>{escape(title)}</h1>", *references.banner_html(gates)]
    contents = [(f"group-{n}", f"{s.dataset} / {s.model} / {s.scenario}")
                for n, s in enumerate(summaries, start=1)]
    grid_section = grid_mod.html(grid)
    if grid_section:
        contents.append(("grid", "Grid metrics"))
    if legend:
        contents.append(("metrics", "Metrics"))
    if references.spreads(gates):
        contents.append(("references", "Reference models"))
    if failures:
        contents.append(("failures", f"Failures ({len(failures)})"))
    out.append(f'<p class="note">{len(summaries)} table(s); '
               f"{len(failures) if failures else 'no'} failed stage(s).</p>")
    out += ["<nav><ul>"] + [f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in contents] \
        + ["</ul></nav>"]
    for n, s in enumerate(summaries, start=1):
        group = (s.dataset, s.model, s.scenario)
        out += _group_section(n, s, by_group.get(group), [p for p in plots if p.group == group],
                              plots_note, detail_of.get(group))
    out += grid_section
    out += legend_mod.html(legend)
    out += references.section_html(gates)
    if failures:
        rows = failure_rows(list(failures))
        out += ['<section id="failures">', f"<h2>Failures ({len(rows)})</h2>",
                '<p class="note">Stages that raised an error (from failures.jsonl); their '
                "results are missing from the tables above.</p>", "<table>",
                "<thead><tr>" + "".join(f'<th class="name">{h}</th>' for h in
                                        ("cell", "method", "metric", "stage", "error"))
                + "</tr></thead>", "<tbody>"]
        for f in rows:
            error = f"{f['error_type']}: {f['error']}" if f["error_type"] else f["error"]
            out.append("<tr>" + "".join(f'<td class="name">{escape(f[c])}</td>'
                                        for c in ("cell", "method", "metric", "stage"))
                       + f'<td class="error">{escape(error)}</td></tr>')
        out += ["</tbody>", "</table>", "</section>"]
    if config is not None:
        out += ["<details><summary>Experiment configuration (config.json)</summary>",
                f"<pre>{escape(json.dumps(config, indent=2, sort_keys=True, default=str), quote=False)}"
                "</pre>",
                "</details>"]
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def load_config(run_dir: str | Path) -> dict[str, Any] | None:
    """``RUN_DIR/config.json`` or None when absent or unreadable (the report does not need it)."""
    path = Path(run_dir) / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    from supreme.secrets import redact

    return redact(data)  # a config.json of an older version may hold secrets
