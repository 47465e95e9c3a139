"""Reports from a run directory's ``results.jsonl``: tidy CSV/Parquet, Markdown, LaTeX and
HTML tables, a ranking with paired tests, plots and a leaderboard."""

from supreme.report.build import write_report
from supreme.report.load import load_results
from supreme.report.ranking import Ranking, rank, sign_flip_test
from supreme.report.tables import Summary, load_records, summarise

__all__ = ["Ranking", "Summary", "load_records", "load_results", "rank", "sign_flip_test", "summarise",
           "write_report"]
