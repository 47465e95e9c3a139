"""The notebooks of docs/notebooks/ execute as committed, in order, in one directory (the
second reuses the first one's store), with nbclient on the embedded digits dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "docs" / "notebooks"
ORDER = ("quickstart.ipynb", "write-a-method.ipynb")


def _text(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_every_notebook_is_listed_and_committed_with_outputs() -> None:
    import nbformat

    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(ORDER)
    for name in ORDER:
        notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert code and all(c.get("outputs") for c in code), f"{name}: run it and commit outputs"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_notebooks_execute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    executed = {}
    for name in ORDER:
        notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        executed[name] = [c for c in notebook.cells if c.cell_type == "code"]
    quick = executed["quickstart.ipynb"]
    assert "0 failures" in _text(quick[1])
    table = _text(quick[2])
    assert all(m in table for m in ("original", "retrain", "finetune", "random_labeling"))
    assert any(o.get("data", {}).get("image/png") for o in quick[3].get("outputs", []))
    method = executed["write-a-method.ipynb"]
    assert "['ascent_repair']" in _text(method[0])
    assert "passes the method checks" in _text(method[1])
    # the second notebook reuses the first one's M_o, M_r and finetune
    computed = _text(method[2])
    assert "ascent_repair" in computed
    assert "train M_o" not in computed and "retrain M_r" not in computed
    assert "unlearn finetune" not in computed
