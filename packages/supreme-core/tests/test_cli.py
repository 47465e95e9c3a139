"""The command line: exit codes, error messages, JSON output, global options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from supreme.cli.main import main, split_global_options

TOY = str(Path(__file__).parent / "toyplugin.py")


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def test_global_options_are_accepted_anywhere() -> None:
    options, rest = split_global_options(["run", "x.toml", "--debug", "--plugin", "a.py",
                                          "--plugin=b.py", "--strict-plugins", "--json"])
    assert options.debug and options.strict_plugins and options.plugins == ["a.py", "b.py"]
    assert rest == ["run", "x.toml", "--json"]


def test_config_error_is_two_lines_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[seeds]\ntrain = 'zero'\n")
    code, out, err = cli("run", str(path), capsys=capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith("Error: invalid experiment") and "seeds.train = 'zero'" in lines[0]
    assert lines[1].startswith("Fix: ")
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from supreme.errors import ConfigError

    path = tmp_path / "x.toml"
    path.write_text("bogus = 1\n")
    with pytest.raises(ConfigError):
        main(["run", str(path), "--debug"])


def test_unknown_method_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli("--plugin", TOY, "run", "--set", 'datasets=["toy"]', "--set",
                       'models=["tiny"]', "--set", 'methods=["toy_ascnt"]', capsys=capsys)
    assert code == 2
    assert "Error: unknown method 'toy_ascnt'" in err
    assert "Did you mean 'toy_ascent'?" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli("list", "widgets", capsys=capsys)
    assert code == 2 and "widgets" in err


def test_run_with_a_file_plugin_prints_a_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--plugin", TOY, "run", "--set", f'output_dir="{tmp_path}"', "--set", 'datasets=["toy"]',
            "--set", 'models=["tiny"]', "--set", 'methods=["original","retrain"]',
            "--set", 'metrics=["toy_accuracy"]']
    code, out, err = cli(*args, capsys=capsys)
    assert code == 0, err
    assert "retrain M_r" in err and "computed in" in err
    assert "toy_accuracy" in out and "forget_test" in out
    code, out, err = cli(*args, "--json", capsys=capsys)
    assert code == 0
    payload = json.loads(out)
    # the rerun runs no cell: it reads the outcome file and says so
    assert "computed in" not in err and "reused" not in err
    assert err.startswith("every cell had finished with this code, torch and data: read 1 "
                          "outcome file(s) from ")
    values = {(r["method"], r["key"]): r["value"] for r in payload["records"]}
    assert values[("retrain", "forget_test")] == 0.0


def test_list_and_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli("--plugin", TOY, "list", "methods", "--json", capsys=capsys)
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0
    assert rows["retrain"]["distribution"] == "supreme-core"
    assert rows["toy_ascent"]["distribution"].endswith("toyplugin.py")
    code, out, _ = cli("--plugin", TOY, "plugins", "--json", capsys=capsys)
    plugins = {r["plugin"]: r for r in json.loads(out)}
    assert "method:original" in plugins["supreme"]["components"]
    assert "dataset:toy" in plugins["toyplugin"]["components"]


def test_env_reports_versions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli("env", "--json", capsys=capsys)
    info = json.loads(out)
    assert code == 0
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert "torch" in info and "lightning" in info and "cuda available" in info


def test_help_and_list_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from supreme.cli.main import main\n"
        "for argv in (['--help'], ['list', 'methods'], ['plugins'], ['describe', 'retrain'],\n"
        "             ['describe', 'method:original', '--json']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('torch', 'lightning', 'timm', 'torchvision', 'sklearn', 'wandb')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_command_is_a_plain_function_callable_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from supreme.cli.app import COMMANDS, plan

    assert [name for name, _ in COMMANDS] == [
        "run", "plan", "tune", "report", "gc", "list", "describe", "plugins", "env", "status"]
    from supreme import registry

    registry.configure(paths=[TOY])
    try:
        plan(set_=[f'output_dir="{tmp_path}"', 'datasets=["toy"]', 'models=["tiny"]',
                   'methods=["original","toy_ascent"]', 'metrics=["toy_accuracy"]'],
             as_json=True)  # no Typer, no app
    finally:
        registry.reset()
    payload = json.loads(capsys.readouterr().out)
    assert {c["dataset"] for c in payload["cells"]} == {"toy"}
    assert payload["counts"]["trainings"] == {"total": 1, "existing": 0, "to_compute": 1}


def test_global_options_are_declared_once_and_shown_in_help(
        capsys: pytest.CaptureFixture[str]) -> None:
    from supreme.cli.options import GLOBAL_OPTIONS

    code, out, _ = cli("--help", capsys=capsys)
    assert code == 0
    for option in GLOBAL_OPTIONS:
        assert option.flag in out and option.help.split("(")[0].strip() in out
        argv = [option.flag, "x.py"] if option.takes_value else [option.flag]
        parsed, rest = split_global_options(["run", *argv])
        assert rest == ["run"] and getattr(parsed, option.attribute) in (True, ["x.py"])


def test_the_app_module_does_not_import_the_entry_point() -> None:
    """No cycle between supreme.cli.app and supreme.cli.main (the app is built, then run)."""
    import ast

    import supreme.cli.app as app_module

    tree = ast.parse(Path(app_module.__file__).read_text())
    imported = {f"{node.module}.{alias.name}" for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert imported & {"supreme.cli.main", "supreme.cli.GlobalOptions"} == set()
    assert not any(name.startswith("supreme.cli.main.") for name in imported)
