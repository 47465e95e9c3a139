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


def _stage_listener(calls: list[tuple[str, str, dict[str, Any]]]) -> object:
    class Listener:
        @supreme.hookimpl
        def supreme_stage_start(self, stage: str, info: dict[str, Any]) -> None:
            calls.append(("start", stage, info))

        @supreme.hookimpl
        def supreme_stage_end(self, stage: str, info: dict[str, Any]) -> None:
            calls.append(("end", stage, info))

    return Listener()


def _toy_run(tmp_path: Path) -> supreme.Results:
    config = supreme.load_config(data={
        "output_dir": str(tmp_path), "datasets": ["toy"], "models": ["tiny"],
        "methods": ["original"], "metrics": ["toy_accuracy"]})
    return supreme.run(config)


def test_hook_supreme_stage_start(toy: Any, tmp_path: Path) -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = []
    registry.register_plugin(_stage_listener(calls), name="listener")
    results = _toy_run(tmp_path)
    starts = [(stage, info["key"]) for kind, stage, info in calls if kind == "start"]
    assert starts == [(e.stage, e.key) for e in results.events]


def test_hook_supreme_stage_end(toy: Any, tmp_path: Path) -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = []
    registry.register_plugin(_stage_listener(calls), name="listener")
    _toy_run(tmp_path)
    ends = [info for kind, _, info in calls if kind == "end"]
    assert ends and all(info["reused"] is False and info["seconds"] >= 0 for info in ends)
    calls.clear()
    _toy_run(tmp_path)
    assert all(info["reused"] for kind, _, info in calls if kind == "end")
