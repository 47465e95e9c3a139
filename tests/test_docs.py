"""The Python examples in docs/api.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from supreme import registry

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), flags=re.S)


def test_api_doc_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.slow
def test_api_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for number, block in enumerate(BLOCKS):
        registry.reset()
        exec(compile(block, f"docs/api.md block {number}", "exec"), {"__name__": "__doc__"})
    out = capsys.readouterr().out
    assert "seeds.train = [-1]" in out  # the ConfigError example printed its message
    assert "retrain 0.0" in out  # M_r never predicts the forgotten digit
