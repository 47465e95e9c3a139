"""`supreme new plugin`: the generated distribution installs into a fresh environment beside
the four wheels, passes its own tests and mypy --strict, and runs in `supreme run`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from supreme.cli.main import main
from supreme.errors import UsageError
from supreme.scaffold import new_plugin

ROOT = Path(__file__).resolve().parents[1]


def test_the_scaffold_refuses_bad_names_and_existing_directories(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="plugin name 'My-Lab' is not valid"):
        new_plugin("My-Lab", tmp_path / "x")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("mine")
    with pytest.raises(UsageError, match="already exists and is not an empty directory"):
        new_plugin("lab", tmp_path / "taken")
    assert (tmp_path / "taken" / "file").read_text() == "mine"


def test_the_cli_writes_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["new", "plugin", "lab", "--dir", str(tmp_path / "p")])
    assert exit_info.value.code in (0, None)
    files = sorted(p.relative_to(tmp_path / "p").as_posix() for p in (tmp_path / "p").rglob("*")
                   if p.is_file())
    assert files == ["CHANGELOG.md", "README.md", "pyproject.toml", "src/supreme_lab/__init__.py",
                     "src/supreme_lab/dataset.py", "src/supreme_lab/method.py",
                     "src/supreme_lab/metric.py", "src/supreme_lab/model.py",
                     "src/supreme_lab/plugin.py", "src/supreme_lab/py.typed",
                     "tests/test_conformance.py"]
    assert 'lab = "supreme_lab.plugin"' in (tmp_path / "p" / "pyproject.toml").read_text()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv to build wheels and a venv")
def test_a_generated_plugin_installs_passes_its_tests_and_runs(tmp_path: Path) -> None:
    project = new_plugin("lab", tmp_path / "supreme-lab")
    wheels = tmp_path / "wheels"
    env = {**os.environ, "UV_NO_PROGRESS": "1", "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}
    env.pop("VIRTUAL_ENV", None)
    for member in ("supreme-core", "supreme-methods", "supreme-metrics", "supreme-vision"):
        subprocess.run(["uv", "build", "--wheel", "--out-dir", str(wheels),
                        str(ROOT / "packages" / member)], check=True, capture_output=True, env=env)
    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "--python", sys.executable, str(venv)], check=True,
                   capture_output=True, env=env)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        ["uv", "pip", "install", "--python", python, *map(str, sorted(wheels.glob("*.whl"))),
         "-e", f"{project}[test]"], capture_output=True, text=True, env=env)
    assert install.returncode == 0, install.stderr[-3000:]

    tests = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=project, capture_output=True, text=True, env=env, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "5 passed" in tests.stdout
    mypy = subprocess.run([python, "-m", "mypy", "src", "tests"], cwd=project,
                          capture_output=True, text=True, env=env, timeout=600)
    assert mypy.returncode == 0, mypy.stdout[-3000:]

    supreme = str(venv / "bin" / "supreme")
    listed = subprocess.run([supreme, "list", "methods"], capture_output=True, text=True, env=env)
    assert "lab_finetune" in listed.stdout and "supreme-lab" in listed.stdout
    run = subprocess.run(
        [supreme, "run", "--json", "--set", f"output_dir='{tmp_path / 'runs'}'",
         "--set", "datasets=['lab_stripes']", "--set", "models=['lab_cnn']",
         "--set", "methods=['original','retrain','lab_finetune','finetune']",
         "--set", "metrics=['lab_confidence','accuracy']"],
        capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert '"method": "lab_finetune"' in run.stdout
