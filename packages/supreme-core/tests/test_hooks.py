"""One test per hook (test_hook_<name>), and a meta-test that keeps the list complete."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import supreme
import typer
from supreme import hookspecs, registry
from supreme.contracts import Cell, Failure, Record, StageEvent

HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
               if name.startswith("supreme_"))
DOCS = Path(__file__).resolve().parents[3] / "docs" / "plugins.md"


def test_every_hook_has_a_test_here() -> None:
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_hook_")}
    missing = [h for h in HOOKS if f"test_hook_{h}" not in tests]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


@pytest.mark.skipif(not DOCS.exists(), reason="docs/ is not part of an installed package")
def test_every_hook_has_a_section_in_the_plugin_docs() -> None:
    sections = set(re.findall(r"^### `?(supreme_\w+)`?", DOCS.read_text(), flags=re.M))
    assert sections == set(HOOKS), f"missing: {set(HOOKS) - sections}, stale: {sections - set(HOOKS)}"


def _names(kind: str) -> list[str]:
    return registry.default().names(kind)  # type: ignore[arg-type]


def test_hook_supreme_register_methods(toy: Any) -> None:
    assert {"original", "retrain", "toy_ascent"} <= set(_names("methods"))


def test_hook_supreme_register_metrics(toy: Any) -> None:
    assert {"toy_accuracy", "toy_gap"} <= set(_names("metrics"))


def test_hook_supreme_register_datasets(toy: Any) -> None:
    assert {"toy", "toy_fine"} <= set(_names("datasets"))


def test_hook_supreme_register_models(toy: Any) -> None:
    assert "tiny" in _names("models")


def test_hook_supreme_register_commands(capsys: pytest.CaptureFixture[str]) -> None:
    class Commands:
        @supreme.hookimpl
        def supreme_register_commands(self, app: typer.Typer) -> None:
            @app.command()
            def hello(name: str) -> None:
                """Say hello."""
                print(f"hello {name}")

    registry.register_plugin(Commands(), name="commands")
    from supreme.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["hello", "world"])
    assert info.value.code == 0
    assert capsys.readouterr().out == "hello world\n"


def _stage_listener(calls: list[tuple[str, Any]]) -> object:
    class Listener:
        @supreme.hookimpl
        def supreme_stage_start(self, event: StageEvent) -> None:
            calls.append(("start", event))

        @supreme.hookimpl
        def supreme_stage_end(self, event: StageEvent) -> None:
            calls.append(("end", event))

        @supreme.hookimpl
        def supreme_cell_end(self, cell: Cell, records: list[Record],
                             failures: list[Failure]) -> None:
            calls.append(("cell", (cell, records, failures)))

    return Listener()


def _toy_run(tmp_path: Path, **run: Any) -> supreme.Results:
    config = supreme.load_config(data={
        "output_dir": str(tmp_path), "datasets": ["toy"], "models": ["tiny"],
        "methods": ["original"], "metrics": ["toy_accuracy"]})
    return supreme.run(config, **run)


def test_hook_supreme_stage_start(toy: Any, tmp_path: Path) -> None:
    calls: list[tuple[str, Any]] = []
    registry.register_plugin(_stage_listener(calls), name="listener")
    results = _toy_run(tmp_path)
    starts = [event for kind, event in calls if kind == "start"]
    assert [(e.stage, e.key, e.kind) for e in starts] == [
        (e.stage, e.key, e.kind) for e in results.events]
    assert all(isinstance(e, StageEvent) and e.reused is None and not e.ended for e in starts)
    assert {e.kind for e in starts} >= {"models", "splits", "results"}


def test_hook_supreme_stage_end(toy: Any, tmp_path: Path) -> None:
    calls: list[tuple[str, Any]] = []
    registry.register_plugin(_stage_listener(calls), name="listener")
    results = _toy_run(tmp_path)
    ends = [event for kind, event in calls if kind == "end"]
    assert ends == results.events  # the same values the run reports
    assert all(e.reused is False and e.seconds >= 0 for e in ends)
    # each stage starts before it ends, and no stage overlaps another
    phases = [(kind, event.stage) for kind, event in calls if kind != "cell"]
    assert phases == [p for e in ends for p in (("start", e.stage), ("end", e.stage))]
    calls.clear()
    _toy_run(tmp_path)
    assert all(event.reused for kind, event in calls if kind == "end")


def test_hook_supreme_cell_end(toy: Any, tmp_path: Path) -> None:
    calls: list[tuple[str, Any]] = []
    registry.register_plugin(_stage_listener(calls), name="listener")
    results = _toy_run(tmp_path)
    cells = [payload for kind, payload in calls if kind == "cell"]
    assert len(cells) == results.cells == 1
    cell, records, failures = cells[0]
    assert isinstance(cell, Cell) and cell.dataset == "toy" and failures == []
    assert records == results.records
    assert calls[-1][0] == "cell"  # after the cell's last stage


def test_the_parent_of_workers_observes_every_stage_once(toy: Any, tmp_path: Path) -> None:
    """With --workers, the workers forward their stage events and the parent calls the
    hooks, the reporter and the loggers: each stage is seen once, start before end."""
    calls: list[tuple[str, Any]] = []
    registry.register_plugin(_stage_listener(calls), name="listener")
    seen: list[StageEvent] = []
    config = supreme.load_config(data={
        "output_dir": str(tmp_path), "datasets": ["toy"], "models": ["tiny"],
        "methods": ["original"], "metrics": ["toy_accuracy"], "seeds": {"train": [0, 1]}})
    results = supreme.run(config, workers=2, reporter=seen.append)
    ends = [event for kind, event in calls if kind == "end"]
    assert sorted(ends, key=str) == sorted(results.events, key=str) == sorted(seen, key=str)
    assert {e.worker for e in ends} <= {1, 2}
    assert len(ends) == len({(e.stage, e.cell, e.worker) for e in ends})
    for event in ends:
        starts = [i for i, (k, e) in enumerate(calls) if k == "start" and e.stage == event.stage
                  and e.cell == event.cell and e.worker == event.worker]
        assert len(starts) == 1 and starts[0] < calls.index(("end", event))
    assert len([kind for kind, _ in calls if kind == "cell"]) == 2


