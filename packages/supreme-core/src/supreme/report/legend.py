"""What each metric of a report measures, in one line (``tables.md``, ``report.html``).

The line is the metric class's own one-line description (the first line of its docstring,
as ``supreme list metrics`` shows it), looked up among the installed plugins; a metric
that is not installed where the report is written says so. Every metric is read the same
way in SUPREME: a good method is close to the retrain row, which is what the ranking
measures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

#: said of a metric whose plugin is not installed where the report is written
NOT_INSTALLED = "(its plugin is not installed here: `supreme describe` it where it is)"
READING = ("Every value is read against the retrain row: a method that forgot as retraining "
           "would have scores what retrain scores.")


def describe(metrics: Iterable[str]) -> list[tuple[str, str]]:
    """``[(metric, one line)]`` for the distinct ``metrics``, in first-seen order."""
    names = list(dict.fromkeys(metrics))
    known: dict[str, str] = {}
    try:
        from supreme.registry import list_components

        known = {e.name: e.cls.describe() for e in list_components("metrics")}
    except Exception:  # a report never fails for want of a description
        known = {}
    return [(name, known.get(name) or NOT_INSTALLED) for name in names]


def markdown(legend: Sequence[tuple[str, str]]) -> list[str]:
    if not legend:
        return []
    return ["# Metrics", "", READING, "",
            *(f"- `{name}`: {line}" for name, line in legend), ""]


def html(legend: Sequence[tuple[str, str]]) -> list[str]:
    if not legend:
        return []
    return ['<section id="metrics">', "<h2>Metrics</h2>", f'<p class="note">{escape(READING)}</p>',
            "<dl>", *(f"<dt><code>{escape(name)}</code></dt><dd>{escape(line)}</dd>"
                      for name, line in legend), "</dl>", "</section>"]
