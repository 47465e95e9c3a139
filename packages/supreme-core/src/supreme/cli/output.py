"""Human-readable CLI output (rich tables on stdout; stage lines on stderr)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any


def _console(stderr: bool = False) -> Any:
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # not a terminal (logs, CI): wide enough that tables are never truncated
    width = None if stream.isatty() else 200
    return Console(stderr=stderr, highlight=False, width=width)


def table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    from rich.markup import escape
    from rich.table import Table

    # values are plain text: "[method.x]" or "[0, 1)" must not be read as rich markup
    t = Table(title=escape(title), title_justify="left")
    for column in columns:
        t.add_column(escape(column))
    for row in rows:
        t.add_row(*(escape(str(row.get(c, ""))) for c in columns))
    _console().print(t)


def key_values(title: str, info: dict[str, Any]) -> None:
    table(title, [{"key": k, "value": v} for k, v in info.items()], ["key", "value"])


def describe(info: dict[str, Any]) -> None:
    """``supreme describe``: the component's facts, then its hyperparameters."""
    facts = {"kind": info["kind"], "name": info["name"], "summary": info["summary"],
             "provided by": f"{info['distribution']} {info['version']} (plugin {info['plugin']})",
             "class": info["class"]}
    for attr in ("scenarios", "needs", "non_finite_keys", "detail_keys"):
        if attr in info:
            facts[attr] = ", ".join(info[attr]) or "-"
    key_values(f"{info['kind']} {info['name']}", facts)
    rows = [{**p, "default": "None" if p["default"] is None else p["default"],
             "bounds": ", ".join(p["bounds"])} for p in info["hyperparameters"]]
    if rows:
        table(f"hyperparameters ([{info['kind']}.{info['name']}])", rows,
              ["name", "type", "default", "bounds", "description"])
    else:
        _console().print("no hyperparameters")
    if info.get("search_space"):
        from supreme.contracts.search import parse_search

        table("search space (supreme tune)",
              [{"name": k, "searched": parse_search(v, k).describe()}
               for k, v in info["search_space"].items()], ["name", "searched"])


def stage_printer() -> Callable[[Any], None]:
    from rich.markup import escape

    console = _console(stderr=True)

    def report(event: Any) -> None:
        colour = "dim" if event.reused else "green"
        console.print(f"[{colour}]{escape(event.line())}[/]")

    return report


def _cell(values: list[float]) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"


def summarise(records: Sequence[dict[str, Any]], all_keys: bool = False
              ) -> dict[tuple[str, str, str], Any]:
    """Per (dataset, model, scenario): rows (metric, key) x columns (methods), mean ± std.
    Keys a metric declared details (``"detail": true``) only with ``all_keys``."""
    tables: dict[tuple[str, str, str], Any] = {}
    for r in records:
        if r.get("detail") and not all_keys:
            continue
        group = tables.setdefault((r["dataset"], r["model"], r["scenario"]),
                                  {"methods": [], "rows": {}, "n": set()})
        if r["method"] not in group["methods"]:
            group["methods"].append(r["method"])
        cells = group["rows"].setdefault((r["metric"], r["key"]), defaultdict(list))
        if r["value"] is not None:  # a declared non-finite value (recorded as null)
            cells[r["method"]].append(r["value"])
        group["n"].add((r["target"], r["train_seed"], r["unlearn_seed"], r["eval_seed"]))
    return tables


def print_grid(console: Any, records: Sequence[dict[str, Any]]) -> None:
    """The grid metrics: per (dataset, model, scenario, target), rows (metric, key) x
    methods, each one value over the group's seeds (M_u of half the runs against M_r of
    the other half; models per side in the title)."""
    from rich.markup import escape
    from rich.table import Table

    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["dataset"], r["model"], r["scenario"], r["target"]), []).append(r)
    for (dataset, model, scenario, target), rows in groups.items():
        methods = list(dict.fromkeys(r["method"] for r in rows))
        sides = sorted({(r["unlearned_models"], r["retrained_models"]) for r in rows
                        if r["method"] == "retrain"})
        per_side = f"{sides[0][0]} vs {sides[0][1]} models" if sides else "models per side vary"
        coarse = " (coarse: fewer than the metric's minimum)" if any(r.get("coarse") for r in rows) else ""
        t = Table(title=escape(f"{dataset} / {model} / {scenario}:{target}, grid metrics over "
                               f"{rows[0]['runs']} runs ({per_side}; read against retrain)"
                               f"{coarse}"), title_justify="left")
        t.add_column("metric")
        t.add_column("key")
        for method in methods:
            t.add_column(escape(method), justify="right")
        values: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            values.setdefault((r["metric"], r["key"]), {})[r["method"]] = r["value"]
        for (metric, key), by_method in values.items():
            t.add_row(escape(metric), escape(key), *(
                "" if by_method.get(m) is None else f"{by_method[m]:.4g}" for m in methods))
        console.print(t)


def print_summary(console: Any, results: Any) -> None:
    """Per (dataset, model, scenario), the summary that opens ``report.html`` and
    ``tables.md`` (:mod:`supreme.report.summary`): the methods ranked by distance to
    retrain, with forget / retain accuracy, MIA and time side by side."""
    from rich.markup import escape
    from rich.table import Table

    from supreme.report.html_report import load_config
    from supreme.report.ranking import rank
    from supreme.report.summary import MARK_ABOVE, MARK_BEST, build, header, keys_text, row_cells

    finite = [r for r in results.records if r.get("value") is not None]
    shown = [r for r in finite if not r.get("detail")]
    for s in build(shown, rank(finite), getattr(results, "gates", []),
                   getattr(results, "failures", []), load_config(results.run_dir)):
        i, j, k = s.seeds
        t = Table(title=escape(f"{s.title}: closest to retrain first (I={i}, J={j}, K={k})"),
                  title_justify="left")
        head = header(s)
        for n, name in enumerate(head):
            t.add_column(escape(name), justify="left" if n in (0, 1) else "right")
        for row in s.rows:
            t.add_row(*(escape(c) for c in row_cells(s, row)),
                      style="italic" if row.role == "reference" else None)
        console.print(t)
        console.print(escape(
            f"distance: per seed, mean |method − retrain| over {keys_text(s.keys)}; "
            f"{MARK_BEST}/{MARK_ABOVE}: significantly farther than rank 1 / the method above"
            if s.keys else "no ranking key was measured for retrain: the methods are not ranked"))


def print_results(results: Any, all_keys: bool = False) -> None:
    from rich.table import Table

    console = _console()
    print_summary(console, results)
    for (dataset, model, scenario), group in summarise(results.records, all_keys).items():
        title = f"{dataset} / {model} / {scenario} (mean ± std over {len(group['n'])} cells)"
        t = Table(title=title, title_justify="left")
        t.add_column("metric")
        t.add_column("key")
        for method in group["methods"]:
            t.add_column(method, justify="right")
        for (metric, key), cells in group["rows"].items():
            t.add_row(metric, key, *(_cell(cells.get(m, [])) for m in group["methods"]))
        console.print(t)
    hidden = len({(r["metric"], r["key"]) for r in results.records if r.get("detail")})
    if hidden and not all_keys:
        console.print(f"{hidden} per-key detail row(s) (e.g. per-layer distances) not shown: "
                      "--all-keys shows them, `supreme report` lists them")
    grid = [r for r in getattr(results, "grid", []) if all_keys or not r.get("detail")]
    if grid:
        print_grid(console, grid)
    console.print(f"results written to {results.run_dir / 'results.jsonl'}"
                  + (f" and {results.run_dir / 'grid_results.jsonl'}" if grid else ""))
    gates = getattr(results, "gates", [])
    failed = [g for g in gates if not g.get("passed", True)]
    if failed:
        console.print(f"[bold yellow]reference checks failed in {len(failed)} of {len(gates)} "
                      f"cells[/] (M_o/M_r not converged; details in "
                      f"{results.run_dir / 'gates.jsonl'}, docs/validity.md)")
    elif gates:
        console.print(f"reference checks passed in all {len(gates)} cells")
