"""Bad options stop before any compute with a two-line message (the problem, the fix):
exit code 2 from the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import supreme
from supreme.errors import ConfigError, DatasetError, SupremeError, UnknownComponentError
from supreme_hf import HfConfig, HfDataset

NAME = "hf:local/digits"


def experiment(tmp_path: Path, **options: Any) -> dict[str, Any]:
    return {"output_dir": str(tmp_path / "runs"), "datasets": [NAME], "models": ["tiny"],
            "methods": ["original"], "metrics": ["none"], "dataset": {NAME: options}}


def checked(name: str = NAME, **options: Any) -> None:
    HfDataset.member(name)(HfConfig(**options)).check_files()


@pytest.mark.parametrize(("options", "problem"), [
    ({"colour": 1}, f"dataset.{NAME}.colour: unknown key"),
    ({"path": "x", "revision": "main"},
     f"dataset.{NAME}.revision = 'main': Value error, applies to Hub datasets only; leave it out "
     "when path is set"),
    ({"format": "parquet"},
     f"dataset.{NAME}.format = 'parquet': Value error, applies to a local path only; set path as "
     "well, or leave format out for a Hub dataset"),
    ({"format": "zip", "path": "x"},
     f"dataset.{NAME}.format = 'zip': Input should be 'auto', 'arrow', 'parquet' or 'imagefolder'"),
    ({"mean": [0.5]},
     f"dataset.{NAME}.std = None: Value error, set mean and std together, or neither (then both "
     "are computed from the training images)"),
    ({"mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2], "channels": 1},
     f"dataset.{NAME}.std = [0.2, 0.2, 0.2]: Value error, has 3 value(s) but channels = 1"),
    ({"class_names": {"1": "x", "2": "x"}},
     f"dataset.{NAME}.class_names = {{'1': 'x', '2': 'x'}}: Value error, gives '1' and '2' the "
     "same name 'x'"),
    ({"targets": {"subclass": ["a"]}},
     f"dataset.{NAME}.targets = {{'subclass': ['a']}}: Value error, has subclass targets but no "
     "fine_label_column"),
    ({"image_size": 0}, f"dataset.{NAME}.image_size = 0: Input should be greater than or equal to 1"),
])
def test_options_are_validated_when_the_experiment_is_loaded(
        tmp_path: Path, options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        supreme.load_config(data=experiment(tmp_path, **options))
    assert caught.value.message == f"invalid experiment (settings): {problem}"
    assert caught.value.exit_code == 2


def test_a_malformed_name_is_refused() -> None:
    with pytest.raises(UnknownComponentError) as caught:
        HfDataset.member("hf:org/name/extra")
    assert caught.value.message == ("dataset name 'hf:org/name/extra' is not a Hugging Face "
                                    "dataset name")


def test_options_that_do_not_fit_the_data_name_the_option_and_the_fix(disk_root: Path) -> None:
    cases: list[tuple[dict[str, Any], type[SupremeError], str, str]] = [
        ({"image_column": "img"}, ConfigError,
         f"{NAME}: split 'train' has no column 'img' (image_column); its columns: image, label",
         f'Set [dataset."{NAME}"] image_column to one of them.'),
        ({"label_column": "image"}, ConfigError,
         f"{NAME}: column 'image' (label_column) holds Image(mode=None, decode=True), not class "
         "labels",
         f'Set [dataset."{NAME}"] label_column to a column of ClassLabel, integer or string '
         "labels."),
        ({"image_column": "label"}, ConfigError,
         f"{NAME}: column 'label' (image_column) holds ClassLabel(names=['0', '1', '2', '3', "
         "'4', '5', '6', '7', '8', '9']), not images",
         f'Set [dataset."{NAME}"] image_column to the column of images.'),
        ({"test_split": "validation"}, ConfigError,
         f"{NAME}: the data have no split 'validation' (test_split); its splits: test, train",
         f'Set [dataset."{NAME}"] test_split to one of them.'),
        ({"class_names": {"ten": "10"}}, ConfigError,
         f"{NAME}: class_names renames 'ten', which column 'label' does not have; its classes: "
         "0, 1, 2, 3, 4, 5, 6, 7, 8, 9",
         "Use the class names (or label values) of column 'label' as the keys of class_names."),
        ({"class_names": {"1": "2"}}, ConfigError,
         f"{NAME}: after class_names, several classes of column 'label' are named '2'",
         "Give every class a name of its own in class_names."),
        ({"format": "imagefolder"}, DatasetError, "", ""),
    ]
    for options, error, message, hint in cases:
        with pytest.raises(error) as caught:
            checked(path=str(disk_root), **options)
        if message:
            assert (caught.value.message, caught.value.hint) == (message, hint), options


def test_a_missing_path_says_where(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        checked(path=str(tmp_path / "nowhere"))
    assert caught.value.message == f"{NAME}: {tmp_path / 'nowhere'} does not exist"
    assert caught.value.hint == (f'Set [dataset."{NAME}"] path to a save_to_disk directory, a '
                                 "Parquet file or directory, or an image folder.")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no data here")
    with pytest.raises(DatasetError, match=r"holds no dataset \(no dataset_dict.json"):
        checked(path=str(tmp_path / "notes"))


def test_the_command_line_prints_two_lines_and_exits_2(tmp_path: Path, disk_root: Path,
                                                       cli_plugin: Path) -> None:
    config = tmp_path / "experiment.toml"
    config.write_text(f"""
output_dir = "{tmp_path / 'runs'}"
datasets = ["{NAME}"]
models = ["tiny"]
methods = ["original"]

[dataset."{NAME}"]
path = "{disk_root}"
image_column = "img"
targets = {{ fullclass = ["3"] }}
""")
    done = subprocess.run([sys.executable, "-m", "supreme", "--plugin", str(cli_plugin), "run",
                           str(config), "--set", 'metrics=["size"]'],
                          capture_output=True, text=True, check=False)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert lines[-2:] == [
        f"Error: {NAME}: split 'train' has no column 'img' (image_column); its columns: image, "
        "label",
        f'Fix: Set [dataset."{NAME}"] image_column to one of them.',
    ], done.stderr
    assert not (tmp_path / "runs" / "store").exists()  # nothing was computed
