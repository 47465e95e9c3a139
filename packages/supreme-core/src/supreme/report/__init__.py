"""Reports from a run directory's ``results.jsonl``: tidy CSV, Markdown and LaTeX tables."""

from supreme.report.tables import Summary, load_records, summarise, write_report

__all__ = ["Summary", "load_records", "summarise", "write_report"]
