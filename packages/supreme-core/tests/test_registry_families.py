"""Dataset families: a registered dataset class with a ``prefix`` claims every name
``PREFIX:REST`` (as supreme-hf claims ``hf:ORG/NAME``); the registry asks it for one class
per name, with the family's provenance and configured by the name's own table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import supreme
import toyplugin
from supreme import hookimpl, registry
from supreme.contracts import DatasetSpec
from supreme.describe import find
from supreme.errors import ConfigError, PluginError, UnknownComponentError
from supreme.testing.datasets import check_dataset


class ToyFamily(toyplugin.Toy):
    """Toy stripes under any name fam:LABEL (LABEL: lowercase letters)."""

    name = "toy_family"
    prefix = "fam"

    @classmethod
    def member(cls, name: str) -> type[DatasetSpec[Any]]:
        if not name.partition(":")[2].isalpha():
            raise UnknownComponentError(f"dataset name {name!r} is not fam:LETTERS",
                                        "Name a toy family member with letters only.")
        return super().member(name)


def family_plugin(*classes: type[DatasetSpec[Any]]) -> object:
    class Plugin:
        @hookimpl
        def supreme_register_datasets(self) -> list[type[DatasetSpec[Any]]]:
            return list(classes)
    return Plugin()


@pytest.fixture
def family(toy: Any) -> type[ToyFamily]:
    registry.register_plugin(family_plugin(ToyFamily), name="toy_families")
    return ToyFamily


def test_a_family_answers_every_name_with_its_prefix(family: type[ToyFamily]) -> None:
    reg = registry.default()
    entry = reg.entry("datasets", "fam:small")
    assert issubclass(entry.cls, family) and entry.cls.name == "fam:small"
    assert entry.cls.__doc__ == family.__doc__ and entry.cls.__module__ == family.__module__
    assert entry.provenance.plugin == "toy_families"
    assert reg.entry("datasets", "fam:small").cls is entry.cls  # one class per name
    assert reg.entry("datasets", "fam:large").cls is not entry.cls
    assert reg.has("datasets", "fam:small") and not reg.has("methods", "fam:small")
    # listed once, as the family
    assert "fam:*" in reg.names("datasets") and "toy_family" not in reg.names("datasets")
    assert reg.entry("datasets", "fam:*").cls is family
    assert [e.cls for e in reg.list("datasets") if e.name == "fam:*"] == [family]
    assert find(reg, "fam:small").cls is entry.cls  # supreme describe fam:small
    with pytest.raises(UnknownComponentError, match="unknown dataset 'nope:small'"):
        reg.entry("datasets", "nope:small")
    # a member passes the dataset conformance check under its family name
    check_dataset(entry.cls(entry.cls.Config(per_class=2)), splits=("test",))


def test_a_name_the_family_refuses_is_its_error(family: type[ToyFamily], tmp_path: Path) -> None:
    with pytest.raises(UnknownComponentError) as caught:
        supreme.load_config(data={"output_dir": str(tmp_path), "datasets": ["fam:x1"],
                                  "dataset": {"fam:x1": {}}})
    assert caught.value.message == "dataset name 'fam:x1' is not fam:LETTERS"
    assert caught.value.exit_code == 2


def test_members_run_with_their_own_tables(family: type[ToyFamily],
                                           toy_experiment: dict[str, Any]) -> None:
    settings = {**toy_experiment, "datasets": ["fam:small", "fam:large"],
                "methods": ["original"], "metrics": ["toy_accuracy"],
                "dataset": {"fam:small": {"per_class": 6}, "fam:large": {"per_class": 12}}}
    with pytest.raises(ConfigError) as caught:  # a member's table is checked against its Config
        supreme.load_config(data={**settings, "dataset": {"fam:small": {"size": 6}}})
    assert caught.value.message == "invalid experiment (settings): dataset.fam:small.size: unknown key"
    results = supreme.run(supreme.load_config(data=settings))
    assert not results.failures
    records = results.records
    assert {r["dataset"] for r in records} == {"fam:small", "fam:large"}
    assert {r["provenance"]["dataset"]["plugin"] for r in records} == {"toy_families"}
    artifacts = {r["dataset"]: r["artifact"] for r in records}
    assert artifacts["fam:small"] != artifacts["fam:large"]  # each member its own store keys


def test_two_families_with_one_prefix_is_an_error_naming_both(toy: Any) -> None:
    class Other(ToyFamily):
        """Another family claiming fam:*."""

        name = "other_family"

    registry.register_plugin(family_plugin(ToyFamily), name="first")
    registry.register_plugin(family_plugin(Other), name="second")
    with pytest.raises(PluginError) as caught:
        registry.default()
    assert caught.value.message == ("two plugins claim the dataset names fam:*: plugin 'first' "
                                    "(<runtime> -) and plugin 'second' (<runtime> -)")


def test_a_bad_prefix_or_member_class_is_a_plugin_error(toy: Any) -> None:
    class BadPrefix(toyplugin.Toy):
        """A prefix that is not a name."""

        name = "bad_prefix"
        prefix = "Bad:Prefix"

    registry.register_plugin(family_plugin(BadPrefix), name="bad")
    with pytest.raises(PluginError, match="with prefix 'Bad:Prefix', which is not a valid name"):
        registry.default()

    class Liar(ToyFamily):
        """Answers every name with the toy dataset itself."""

        name = "liar"
        prefix = "liar"

        @classmethod
        def member(cls, name: str) -> type[DatasetSpec[Any]]:
            return toyplugin.Toy

    registry.reset()
    registry.register_plugin(toyplugin)
    registry.register_plugin(family_plugin(Liar), name="liars")
    with pytest.raises(PluginError) as caught:
        registry.default().entry("datasets", "liar:x")
    assert caught.value.message.startswith(
        "plugin 'liars' (<runtime> -): the dataset family liar:* answered 'liar:x' with ")
