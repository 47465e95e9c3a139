"""Execute docs/notebooks/ in order in a fresh temporary directory and save them with
their outputs (run after changing a notebook or what it shows):

    uv run python scripts/run-notebooks.py

The second notebook reuses the first one's store, as in tests/test_notebooks.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_notebooks import NOTEBOOKS, ORDER  # noqa: E402


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as directory:
        for name in ORDER:
            path = NOTEBOOKS / name
            notebook = nbformat.read(path, as_version=4)
            start = time.perf_counter()
            NotebookClient(notebook, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": directory}}).execute()
            nbformat.write(notebook, path)
            print(f"{name}: executed in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
