"""The failed stages of a run, from ``RUN_DIR/failures.jsonl`` (absent or empty: none)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from supreme.errors import UsageError

FAILURE_COLUMNS = ("cell", "method", "metric", "stage", "error_type", "error")


def load_failures(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/failures.jsonl``; ``[]`` when the file is absent or empty."""
    path = Path(run_dir) / "failures.jsonl"
    if not path.is_file():
        return []
    from supreme.report.tables import jsonl_lines

    failures = []
    fix = "Rerun `supreme run` to rewrite the failures file, or delete it."
    for number, line in jsonl_lines(path, fix):
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"{path}:{number} is not a JSON record ({exc})",
                             "Rerun `supreme run` to rewrite the failures file, or delete it.") from exc
        if not isinstance(entry, dict):
            raise UsageError(f"{path}:{number} is not a JSON object",
                             "Rerun `supreme run` to rewrite the failures file, or delete it.")
        failures.append(entry)
    return failures


def cell_label(entry: dict[str, Any]) -> str:
    """``dataset/model/scenario:target s_t=… s_u=… s_e=…`` (missing parts left out)."""
    parts = [str(entry[k]) for k in ("dataset", "model", "scenario") if entry.get(k) is not None]
    label = "/".join(parts)
    if entry.get("target") is not None:
        label += f":{entry['target']}"
    seeds = [f"{name}={entry[k]}" for name, k in (("s_t", "train_seed"), ("s_u", "unlearn_seed"),
                                                  ("s_e", "eval_seed")) if entry.get(k) is not None]
    return " ".join([label, *seeds]).strip()


def failure_rows(failures: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One row per failure with :data:`FAILURE_COLUMNS` (missing values as empty strings)."""
    def text(value: Any) -> str:
        return "" if value is None else str(value)

    return [{"cell": cell_label(f), "method": text(f.get("method")), "metric": text(f.get("metric")),
             "stage": text(f.get("stage")), "error_type": text(f.get("error_type")),
             "error": text(f.get("error"))} for f in failures]
