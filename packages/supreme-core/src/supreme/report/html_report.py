"""``report.html``: one self-contained page, summary first, details on demand.

The page opens with the run's banners (failed reference-model gates, failed stages), then
per (dataset, model, scenario) the summary table (:mod:`supreme.report.summary`: methods
ranked by distance to retrain with its 95 % interval and significance marks, forget /
retain accuracy, MIA and time side by side, retrain's own row first), a paragraph on how it
was computed and the overview figure. Everything else is folded in ``<details>`` below it:
the distributions figure, the time-vs-distance figure, every summary key's mean ± std and
difference to retrain, the ranking's p-values, the per-seed and per-target values and the
keys the metrics declare details (per-layer distances). Then the grid metrics, the metrics'
one-line descriptions, the reference models' spread, the failed stages and the
configuration.

Self-contained: inline CSS (light and dark colour schemes, print rules), figures as base64
PNG with alt text, no external resource. A few lines of inline script make the tables
sortable (click or Enter on a heading) and open every ``<details>`` before printing; the
page reads the same without it. Every text that comes from a run (method, metric and key
names, error messages, the configuration) is HTML-escaped; the page is also well-formed
XML.
"""

from __future__ import annotations

import base64
import json
import statistics
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from supreme.contracts.method import RETRAIN
from supreme.report import grid as grid_mod
from supreme.report import legend as legend_mod
from supreme.report import ranking as ranking_mod
from supreme.report import references
from supreme.report import summary as summary_mod
from supreme.report.failures import failure_rows
from supreme.report.palette import Style
from supreme.report.plots import Plot
from supreme.report.tables import Summary, _mean_std, seed_means

STYLE = """
:root { color-scheme: light dark; --fg: #1f2328; --muted: #57606a; --bg: #ffffff;
  --line: #d0d7de; --head: #f3f4f6; --zebra: #fafafa; --warn-bg: #fff7ed; --warn: #b45309;
  --ref: #eef2ff; --link: #0550ae; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9da7b3; --bg: #0d1117; --line: #30363d; --head: #161b22;
    --zebra: #11161d; --warn-bg: #2d1d0b; --warn: #f0a04b; --ref: #1b2233; --link: #58a6ff; }
}
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1em auto;
  max-width: 1280px; padding: 0 1em; color: var(--fg); background: var(--bg); line-height: 1.4; }
a { color: var(--link); }
h1 { font-size: 1.45em; margin: .2em 0; }
h2 { font-size: 1.25em; border-bottom: 1px solid var(--line); padding-bottom: .2em; margin-top: 1.2em; }
h3 { font-size: 1.02em; margin-top: 1.2em; }
table { border-collapse: collapse; margin: .4em 0 .8em; font-size: .88em; }
th, td { border: 1px solid var(--line); padding: .25em .55em; text-align: right; vertical-align: top; }
th { background: var(--head); } td.name, th.name { text-align: left; }
tbody tr:nth-child(even) td { background: var(--zebra); }
tr.reference td { background: var(--ref); font-style: italic; }
td.sig { font-weight: bold; } .note { color: var(--muted); font-size: .88em; max-width: 80em; }
table.summary { font-size: .95em; } table.summary td.distance { font-weight: 600; }
caption { text-align: left; caption-side: top; padding: .2em 0; }
table.sortable th { cursor: pointer; }
th[aria-sort=ascending]::after { content: " \\25B2"; } th[aria-sort=descending]::after { content: " \\25BC"; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 2px; margin-right: .35em;
  vertical-align: baseline; border: 1px solid var(--line); }
.banner { border: 2px solid var(--warn); background: var(--warn-bg); padding: .4em .9em; margin: .6em 0; }
.banner ul { margin: .3em 0; } .banner details { margin-top: .2em; }
nav ul { list-style: none; padding: 0; margin: .3em 0; font-size: .88em; }
nav li { display: inline; } nav li + li::before { content: " · "; color: var(--muted); }
figure { margin: .5em 0; } figcaption { font-size: .82em; color: var(--muted); max-width: 80em; }
figure img { max-width: 100%; height: auto; background: #ffffff; border: 1px solid var(--line);
  border-radius: 4px; }
details { margin: .3em 0; } details > summary { cursor: pointer; font-weight: 600; padding: .15em 0; }
details > *:not(summary) { margin-left: 1em; }
pre { background: var(--head); padding: 1em; overflow-x: auto; font-size: .85em; }
td.error { text-align: left; font-family: monospace; white-space: pre-wrap; max-width: 40em; }
.scroll { overflow-x: auto; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; } nav { display: none; }
  table, figure, .banner { page-break-inside: avoid; } section.group { page-break-before: auto; }
  figure img { max-width: 100%; border: none; } details > summary { list-style: none; }
}
"""

#: sortable tables (a heading sorts by its column: data-sort, else the number the cell
#: starts with, else its text) and every <details> opened before printing. Written
#: without "<" and "&" so that the page stays well-formed XML.
SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.tabIndex = 0;
  function key(row, i) {
    var cell = row.cells[i], text = cell.getAttribute("data-sort");
    if (text === null) { text = cell.textContent.trim(); }
    var number = parseFloat(text);
    return isNaN(number) ? [1, text] : [0, number];
  }
  function sort() {
    var table = th.closest("table"), body = table.tBodies[0];
    var i = Array.prototype.indexOf.call(th.parentNode.children, th);
    var up = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, i), y = key(b, i);
      var d = x[0] !== y[0] ? x[0] - y[0] : (x[1] > y[1]) - (y[1] > x[1]);
      return up || x[0] !== y[0] ? d : -d;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  th.addEventListener("click", sort);
  th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
});
window.addEventListener("beforeprint", function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
});
"""


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], name_columns: int = 1,
           classes: Sequence[Sequence[str]] | None = None, table_class: str = "") -> list[str]:
    def cls(i: int, extra: str = "") -> str:
        names = " ".join(c for c in (("name" if i < name_columns else ""), extra) if c)
        return f' class="{names}"' if names else ""

    attribute = f' class="{table_class}"' if table_class else ""
    out = [f'<div class="scroll"><table{attribute}>',
           "<thead><tr>" + "".join(f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(header))
           + "</tr></thead>", "<tbody>"]
    for r, row in enumerate(rows):
        extras = classes[r] if classes else [""] * len(row)
        out.append("<tr>" + "".join(f"<td{cls(i, extras[i])}>{escape(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>")
    out += ["</tbody>", "</table></div>"]
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
    return _table(["metric", "key", *s.methods], rows, name_columns=2, table_class="sortable")


def _fold(summary: str, body: Sequence[str], kind: str) -> list[str]:
    return [f'<details class="{kind}"><summary>{escape(summary)}</summary>', *body, "</details>"]


def _figure(plot: Plot) -> list[str]:
    return _embedded(plot.png, plot.kind, plot.alt or plot.title,
                     f"{plot.title} (also {plot.png.name} and {plot.svg.name} in plots/)")


def _embedded(png: Path, kind: str, alt: str, caption: str) -> list[str]:
    """A PNG file as a self-contained ``<figure>`` (raises ``OSError`` if unreadable)."""
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    return [f'<figure class="{escape(kind)}">',
            f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}"/>',
            f"<figcaption>{escape(caption)}</figcaption>", "</figure>"]


NAME = ' class="name"'


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def summary_table(s: summary_mod.GroupSummary, styles: dict[str, Style], index: int) -> list[str]:
    """The group's summary table (sortable; the data-sort of each cell is its number)."""
    head = summary_mod.header(s)
    out = [f'<div class="scroll"><table class="summary sortable" id="summary-{index}">',
           f"<caption class=\"note\">Closest to retrain first: {escape(s.title)}</caption>",
           "<thead><tr>" + "".join(f'<th scope="col"{NAME if i in (0, 1) else ""}>{escape(h)}</th>'
                                   for i, h in enumerate(head)) + "</tr></thead>",
           "<tbody>"]
    for row in s.rows:
        cells = summary_mod.row_cells(s, row)
        sort_keys = [("0" if row.role == "reference" else _number(row.rank)), row.label]
        if s.any_tuned:
            sort_keys.append(cells[2])
        sort_keys.append("0" if row.role == "reference" else _number(row.distance))
        sort_keys += [_number(statistics.fmean(row.values[c[0]]) if row.values.get(c[0]) else None)
                      for c in s.columns]
        sort_keys.append(str(row.seeds[0] * row.seeds[1] * row.seeds[2]))
        colour = styles[row.method].colour if row.method in styles else "transparent"
        rendered = []
        for i, (text, key) in enumerate(zip(cells, sort_keys, strict=True)):
            classes = ["name"] if i in (0, 1) else []
            if head[i].startswith("Distance"):
                classes.append("distance")
            attribute = f' class="{" ".join(classes)}"' if classes else ""
            body = escape(text)
            if i == 1:
                body = f'<span class="swatch" style="background:{colour}"></span>{body}'
            rendered.append(f'<td{attribute} data-sort="{escape(key)}">{body}</td>')
        role = f' class="{row.role}"' if row.role == "reference" else ""
        out.append(f'<tr{role} data-method="{escape(row.method)}">' + "".join(rendered) + "</tr>")
    out += ["</tbody>", "</table></div>"]
    return out


def _group_banners(s: summary_mod.GroupSummary) -> list[str]:
    out = []
    if s.failed_gates:
        lines = summary_mod.gate_lines(s)
        out.append(f'<div class="banner gate-banner" role="alert"><strong>The reference models '
                   f"failed their checks in {len(lines)} of {len(s.gates)} cells of this group."
                   "</strong> M_o or M_r did not converge there: every distance to retrain below "
                   "is unreliable.<ul>" + "".join(f"<li>{escape(x)}</li>" for x in lines[:20])
                   + (f"<li>... and {len(lines) - 20} more</li>" if len(lines) > 20 else "")
                   + "</ul></div>")
    if s.failures:
        lines = summary_mod.failure_lines(s.failures)
        out.append(f'<div class="banner failure-banner" role="alert"><strong>{len(lines)} stage(s) '
                   "of this group failed</strong>: their results are missing below "
                   '(<a href="#failures">Failures</a>).<ul>'
                   + "".join(f"<li>{escape(x)}</li>" for x in lines[:20])
                   + (f"<li>... and {len(lines) - 20} more</li>" if len(lines) > 20 else "")
                   + "</ul></div>")
    return out


def _per_seed(s: summary_mod.GroupSummary, records: Sequence[dict[str, Any]]) -> list[str]:
    """A row per method and seed triple: the distance to retrain and the summary columns
    (values averaged over targets per seed, as everywhere)."""
    means = seed_means(records)
    header = ["method", "s_t", "s_u", "s_e", "distance", *(c[0] for c in s.columns)]
    rows = []
    for row in s.rows:
        per = [means.get((metric, key, row.method), {}) for _, metric, key, _ in s.columns]
        for seed in sorted(set(row.distances).union(*per)):
            distance = row.distances.get(seed)
            rows.append([row.label, *map(str, seed),
                         "0" if row.role == "reference" else ("" if distance is None else f"{distance:.4g}"),
                         *("" if seed not in values else format(values[seed], c[3])
                           for values, c in zip(per, s.columns, strict=True))])
    return _table(header, rows, name_columns=1, table_class="sortable")


def _per_target(s: summary_mod.GroupSummary, records: Sequence[dict[str, Any]]) -> list[str]:
    """A row per method and forget target: the summary columns, mean ± std over seeds."""
    header = ["method", "target", *(c[0] for c in s.columns)]
    rows = []
    for row in s.rows:
        for target in s.targets:
            own = [r for r in records if r["method"] == row.method and str(r["target"]) == target]
            if not own:
                continue
            means = seed_means(own)
            rows.append([row.label, target, *(
                summary_mod.value_text([v for _, v in sorted(means.get((metric, key, row.method),
                                                                       {}).items())], fmt)
                for _, metric, key, fmt in s.columns)])
    return _table(header, rows, name_columns=2, table_class="sortable")


def _group_section(index: int, s: summary_mod.GroupSummary, table: Summary | None,
                   r: ranking_mod.Ranking | None, plots: Sequence[Plot], plots_note: str,
                   styles: dict[str, Style], records: Sequence[dict[str, Any]],
                   details: Summary | None = None) -> list[str]:
    out = [f'<section id="group-{index}" class="group">', f"<h2>{escape(s.title)}</h2>",
           *_group_banners(s), *summary_table(s, styles, index),
           f'<p class="note how">{escape(summary_mod.note(s))}</p>']
    by_kind = {p.kind: p for p in plots}
    if "overview" in by_kind:
        out += _figure(by_kind["overview"])
    elif not plots:
        out.append(f'<p class="note">{escape(plots_note)}</p>')
    for kind, label in (("distributions", "Distributions over seeds: every summary key, one figure"),
                        ("time-quality", "Unlearning time against distance to retrain")):
        if kind in by_kind:
            out += _fold(label, _figure(by_kind[kind]), "figure")
    if table is not None:
        out += _fold(f"All {len(table.rows)} summary keys: mean ± std over seeds",
                     _values_table(table), "values")
        others = [m for m in table.methods if m != RETRAIN]
        if RETRAIN in table.methods and others:
            rows = [[m, kk, *[_delta_text(cells.get(x)) for x in others]]
                    for (m, kk), cells in table.rows.items()]
            out += _fold("Difference to retrain per key (per seed Δ = method − retrain), "
                         "mean ± std [95% bootstrap CI]",
                         _table(["metric", "key", *others], rows, name_columns=2,
                                table_class="sortable"), "deltas")
    if r is not None and r.keys:
        header, *body = ranking_mod.table_rows(r)
        classes = [["", "", "", "", "", "sig" if row[5].endswith("*") else "",
                    "sig" if row[6].endswith("*") else ""] for row in body]
        out += _fold("Ranking: paired tests (p-values)",
                     [f'<p class="note">{escape(ranking_mod.describe_keys(r))}.</p>',
                      *_table(header, body, name_columns=2, classes=classes)], "ranking")
    if s.rows and s.columns:
        out += _fold("Per-seed values (distance and summary columns per seed triple)",
                     _per_seed(s, records), "per-seed")
        if len(s.targets) > 1:
            out += _fold(f"Per-target values ({len(s.targets)} targets)", _per_target(s, records),
                         "per-target")
    if details is not None and details.rows:
        out += _fold(f"Details: {len(details.rows)} per-key values the metrics declare details "
                     "(e.g. per layer), mean ± std over seeds", _values_table(details), "details")
    out.append("</section>")
    return out


def _failures_banner(failures: Sequence[dict[str, Any]]) -> list[str]:
    if not failures:
        return []
    lines = summary_mod.failure_lines(failures)
    items = "".join(f"<li>{escape(x)}</li>" for x in lines[:50])
    more = f"<p>... and {len(lines) - 50} more (failures.jsonl)</p>" if len(lines) > 50 else ""
    return [f'<div class="banner failure-banner" role="alert"><strong>{len(lines)} stage(s) '
            "failed.</strong> Their results are missing from the tables "
            f'(<a href="#failures">Failures</a>).<details><summary>The {len(lines)} failed '
            f"stage(s)</summary><ul>{items}</ul>{more}</details></div>"]


def render(summaries: Sequence[Summary], rankings: Sequence[ranking_mod.Ranking],
           plots: Sequence[Plot], failures: Sequence[dict[str, Any]], *,
           experiment: str = "", config: dict[str, Any] | None = None,
           plots_note: str = "No plots.", gates: Sequence[dict[str, Any]] = (),
           details: Sequence[Summary] = (),
           legend: Sequence[tuple[str, str]] = (), grid: Sequence[dict[str, Any]] = (),
           overview: Sequence[summary_mod.GroupSummary] = (),
           styles: dict[str, Style] | None = None,
           records: Sequence[dict[str, Any]] = ()) -> str:
    """The page as a string. ``overview``: the groups' summaries (:mod:`.summary`), one
    section each, in that order; ``summaries``: the mean ± std tables of the summary keys,
    ``details``: those of the detail keys, both folded; ``legend``: ``(metric, one line)``
    (:mod:`.legend`); ``grid``: the grid metrics' records (:mod:`.grid`); ``styles``:
    the palette (:mod:`.palette`); ``records``: the summary records (per-seed and
    per-target tables)."""
    from supreme.report.palette import palette

    by_group = {(r.dataset, r.model, r.scenario): r for r in rankings}
    table_of = {(s.dataset, s.model, s.scenario): s for s in summaries}
    detail_of = {(d.dataset, d.model, d.scenario): d for d in details}
    styles = styles if styles is not None else palette(m for s in summaries for m in s.methods)
    title = f"SUPREME report: {experiment}" if experiment else "SUPREME report"
    out = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8"/>',
           '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
           '<meta name="color-scheme" content="light dark"/>',
           f"<title>{escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
           f"<h1>{escape(title)}</h1>"]
    methods = len({r.method for s in overview for r in s.rows})
    out.append(f'<p class="note">{len(overview)} group(s) (dataset / model / scenario) of '
               f"{methods} row(s); {len(failures) if failures else 'no'} failed stage(s). Each "
               "group opens with its summary, closest to retrain first; the details are folded "
               "below it.</p>")
    out += references.banner_html(gates)
    out += _failures_banner(failures)
    contents = [(f"group-{n}", s.title) for n, s in enumerate(overview, start=1)]
    grid_section = grid_mod.html(grid)
    if grid_section:
        contents.append(("grid", "Grid metrics"))
    if legend:
        contents.append(("metrics", "Metrics"))
    if references.spreads(gates):
        contents.append(("references", "Reference models"))
    if failures:
        contents.append(("failures", f"Failures ({len(failures)})"))
    out += ['<nav aria-label="contents"><ul>'] + [f'<li><a href="#{a}">{escape(t)}</a></li>'
                                                  for a, t in contents] + ["</ul></nav>"]
    for n, s in enumerate(overview, start=1):
        group = s.group
        own = [r for r in records if (r["dataset"], r["model"], r["scenario"]) == group]
        out += _group_section(n, s, table_of.get(group), by_group.get(group),
                              [p for p in plots if p.group == group], plots_note, styles, own,
                              detail_of.get(group))
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
    if config is not None and config.get("tuned"):
        out += _tuning_section(config["tuned"])
    if config is not None:
        out += ['<details class="config"><summary>Experiment configuration (config.json)</summary>',
                f"<pre>{escape(json.dumps(config, indent=2, sort_keys=True, default=str), quote=False)}"
                "</pre>",
                "</details>"]
    out += [f"<script>{SCRIPT}</script>", "</body>", "</html>", ""]
    return "\n".join(out)


def _tuning_section(tuned: dict[str, Any]) -> list[str]:
    """How each tuned row was tuned (``[tuned]`` of config.json, written by ``supreme
    tune``): its study, objective, default and best values, and the study's plots when
    their files are still there."""
    out = ['<details class="tuning" id="tuning"><summary>How the tuned rows were tuned '
           f"({len(tuned)})</summary>",
           '<p class="note">Each tuned row runs the settings of the best trial of an Optuna '
           "study measured on a validation split carved from the training data, on the "
           "tuning seeds; the tables above report it on this run's own seeds and test split "
           "(docs/tuning.md).</p>"]
    for row, info in sorted(tuned.items()):
        if not isinstance(info, dict):
            continue
        default = info.get("default_value")
        out.append(f"<h3>{escape(row)}</h3><p>study {escape(str(info.get('study', '')))}: "
                   f"{escape(str(info.get('trials', '')))} trials; objective "
                   f"({escape(', '.join(map(str, info.get('objective', []))))}, distance to "
                   f"retrain on the validation split) {_number(default) or 'n/a'} with the "
                   f"default settings, {_number(info.get('value'))} at trial "
                   f"{escape(str(info.get('best_trial', '')))}; settings "
                   f"{escape(json.dumps(info.get('params', {}), sort_keys=True))}.</p>")
        for path in info.get("plots", []):
            png = Path(str(path))
            what = "optimisation history" if "history" in png.name else "parameter importances"
            try:
                out += _embedded(png, "tuning", f"Optuna {what} of the study that tuned {row}",
                                 f"{what} of {row}'s study")
            except OSError:
                out.append(f'<p class="note">{escape(png.name)} is no longer at '
                           f"{escape(str(png.parent))}.</p>")
    out.append("</details>")
    return out


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
