"""The experiment file: defaults, validation messages, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from supreme.config import ExperimentConfig, load_config, parse_override
from supreme.errors import ConfigError


def test_an_empty_file_is_the_default_experiment(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("")
    config = load_config(path)
    assert config == ExperimentConfig()
    assert config.datasets == ["digits"] and config.models == ["resnet18"]
    assert config.methods == ["original", "retrain", "finetune"]
    assert config.scenarios == ["fullclass"] and config.seeds.train == [0]


def test_unknown_keys_are_rejected_with_their_path(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[seeds]\ntrian = [1]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "seeds.trian: unknown key" in info.value.message
    assert info.value.exit_code == 2


def test_a_bad_value_names_field_value_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('scenarios = ["fullclass", "sideways"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = info.value.message
    assert "scenarios.1 = 'sideways'" in message
    assert "'fullclass', 'subclass' or 'random'" in message


def test_negative_seed_and_zero_epochs_are_rejected() -> None:
    with pytest.raises(ConfigError, match=r"seeds.train = \[-1\]: Value error, seed -1"):
        load_config(overrides=["seeds.train=[-1]"])
    with pytest.raises(ConfigError, match="training.epochs = 0"):
        load_config(overrides=["training.epochs=0"])


def test_duplicates_in_lists_are_rejected() -> None:
    with pytest.raises(ConfigError, match="'finetune' is listed twice"):
        load_config(overrides=['methods=["finetune", "finetune"]'])


def test_overrides_set_nested_fields_with_toml_values(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('name = "a"\n[seeds]\ntrain = [1]\n')
    config = load_config(path, ["seeds.train=[3, 4]", "method.finetune.epochs=2",
                                "fabric.precision=bf16-mixed", "name=b"])
    assert config.seeds.train == [3, 4]
    assert config.method == {"finetune": {"epochs": 2}}
    assert config.fabric.precision == "bf16-mixed"
    assert config.name == "b"


def test_override_value_that_is_not_toml_is_a_string() -> None:
    assert parse_override("fabric.accelerator=cuda") == (["fabric", "accelerator"], "cuda")
    assert parse_override("seeds.train=[1,2]") == (["seeds", "train"], [1, 2])


def test_malformed_override_and_file_errors() -> None:
    with pytest.raises(ConfigError, match="not of the form key.path=value"):
        load_config(overrides=["seeds.train"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("/nonexistent/experiment.toml")


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("datasets = [digits\n")
    with pytest.raises(ConfigError, match="bad.toml is not valid TOML"):
        load_config(path)


def test_name_cannot_escape_the_output_directory() -> None:
    with pytest.raises(ConfigError, match="name = '../x'"):
        load_config(overrides=['name="../x"'])


# -- [training] is derived from the recipe ------------------------------------------------
def test_the_training_table_has_exactly_the_recipe_fields() -> None:
    from supreme.config import TrainingConfig
    from supreme.contracts import Recipe
    from supreme.contracts.model import Augment

    assert set(TrainingConfig.model_fields) == set(Recipe.model_fields)
    nested = TrainingConfig.model_validate({"augment": {}}).augment
    assert set(type(nested).model_fields) == set(Augment.model_fields)


@pytest.mark.parametrize(("setting", "fragment"), [
    ("training.milestones=[5,2]", "milestones must be distinct and increasing"),
    ("training.val_fraction=1.5", "training.val_fraction = 1.5"),
    ("training.augment.rotation=500", "training.augment.rotation = 500"),
    ("training.augment.mixup=true", "training.augment.mixup"),
    ("training.gamma=nan", "training.gamma = nan"),
])
def test_training_overrides_use_the_recipe_bounds(setting: str, fragment: str) -> None:
    from supreme.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_config(overrides=[setting])
    assert fragment in info.value.message, info.value.message


def test_a_partial_augment_table_keeps_the_other_recipe_settings() -> None:
    from supreme.contracts import Recipe

    config = load_config(overrides=["training.augment.rotation=0", "training.epochs=3"])
    assert config.training.overrides() == {"augment": {"rotation": 0.0}, "epochs": 3}
    base = Recipe(augment={"crop_padding": 2, "hflip": False, "rotation": 10.0})
    recipe = base.updated(**config.training.overrides())
    assert recipe.epochs == 3
    assert recipe.augment.model_dump() == {"crop_padding": 2, "hflip": False, "rotation": 0.0}
    # the recipe validates its own milestones too (it used to accept any tuple)
    with pytest.raises(ValueError, match="distinct and increasing"):
        Recipe(milestones=(4, 4))
