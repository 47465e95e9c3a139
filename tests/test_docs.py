"""The Python examples in docs/api.md run as written; the plugin skeletons of
docs/plugins.md pass their conformance checks."""

from __future__ import annotations

import re
import sys
import types
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


def plugin_skeletons() -> dict[str, object]:
    text = (ROOT / "docs" / "plugins.md").read_text()
    section = text.split("### Skeletons: a dataset and a model", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2
    namespace: dict[str, object] = {"__name__": "plugin_skeletons"}
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/plugins.md skeleton {number}", "exec"), namespace)
    return namespace


def test_plugin_doc_skeletons_pass_their_conformance_checks(tmp_path: Path) -> None:
    import numpy as np
    from supreme.errors import DatasetError
    from supreme.testing.datasets import check_dataset
    from supreme.testing.models import check_model

    skeletons = plugin_skeletons()
    Shapes, MLP = skeletons["Shapes"], skeletons["MLP"]
    missing = Shapes(Shapes.Config(root=str(tmp_path)))  # type: ignore[operator, attr-defined]
    with pytest.raises(DatasetError, match=r"dataset shapes: .*train\.npz, .*test\.npz not found"):
        missing.check_files()
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("test", 30)):
        labels = np.arange(n) % 3
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        np.savez(tmp_path / f"{split}.npz", images=images, labels=labels)
    spec = Shapes(Shapes.Config(root=str(tmp_path)))  # type: ignore[operator, attr-defined]
    spec.check_files()
    loaded = check_dataset(spec, require_all_classes=True)
    assert loaded["train"].images.shape == (60, 1, 28, 28)
    labels, fine = spec.split_labels("test")
    assert fine is None and labels.tolist() == loaded["test"].labels.tolist()
    net = check_model(MLP, {"hidden": 16}, num_classes=3, in_channels=1,  # type: ignore[arg-type]
                      native_size=28)
    assert sum(p.numel() for p in net.parameters()) == 28 * 28 * 16 + 16 + 16 * 3 + 3


def doc_metrics() -> list[tuple[str, type]]:
    """Every ``Metric`` subclass defined in a Python block of docs/*.md and the README."""
    import supreme.contracts
    from supreme.contracts import Metric

    found = []
    for path in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        for number, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)):
            if not re.search(r"^class \w+\(Metric\b", block, flags=re.M):
                continue
            # a module of its own, as in a plugin (the check reads the module docstring)
            module = types.ModuleType(f"doc_metric_{len(found)}", f"{path.name}, block {number}.")
            module.__dict__.update({k: v for k, v in vars(supreme.contracts).items()
                                    if not k.startswith("__")})
            sys.modules[module.__name__] = module
            exec(compile(block, f"{path.name} block {number}", "exec"), module.__dict__)
            found += [(f"{path.name} block {number}", value) for value in vars(module).values()
                      if isinstance(value, type) and issubclass(value, Metric)
                      and value.__module__ == module.__name__]
    return found


def test_every_metric_the_docs_define_passes_its_conformance_check() -> None:
    """A newcomer copies these: each must run against the metric contract as written."""
    from supreme.testing.metrics import check_metric

    metrics = doc_metrics()
    assert {cls.__name__ for _, cls in metrics} >= {"ForgetConfidence", "ForgetAccuracy"}
    for where, cls in metrics:
        values = check_metric(cls)
        assert values, where
        for row, numbers in values.items():
            assert numbers and all(isinstance(v, float) for v in numbers.values()), (where, row)
