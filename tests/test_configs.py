"""The ready experiment files under configs/ validate, resolve and expand as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import supreme
from supreme.plan import resolve
from supreme.registry import default

CONFIGS = Path(__file__).parents[1] / "configs"

# file -> (cells, distinct M_o trainings) as stated in its header comment
EXPECTED = {
    "default.toml": (1, 1),
    "cifar10-random.toml": (100, 20),
    "cifar20-fullclass.toml": (100, 20),
    "cifar20-subclass.toml": (100, 20),
    "pins-paper-fullclass.toml": (100, 20),
    "pins-paper-random.toml": (20, 20),
}


def test_every_config_is_listed() -> None:
    assert sorted(p.name for p in CONFIGS.glob("*.toml")) == sorted(EXPECTED)


PINS_TARGETS = ("alex_lawther", "bill_gates", "danielle_panabaker", "hugh_jackman", "josh_radnor")


@pytest.fixture(scope="module")
def pins_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Pins folder in the real layout: the five target identities plus two more."""
    from PIL import Image

    root = tmp_path_factory.mktemp("pins")
    for person in (*PINS_TARGETS, "zendaya", "tom_holland"):
        folder = root / "105_classes_pins_dataset" / f"pins_{person.replace('_', ' ').title()}"
        folder.mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (i * 40, 10, 10)).save(folder / f"{i}.jpg")
    return root


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_expands_to_the_documented_grid(name: str, pins_root: Path) -> None:
    config = supreme.load_config(CONFIGS / name, [f"dataset.pins.root='{pins_root}'"]
                                 if name.startswith("pins") else [])
    cells = resolve(config, default()).cells()
    trainings = {(c.dataset, c.model, c.train_seed) for c in cells}
    assert (len(cells), len(trainings)) == EXPECTED[name]


def test_default_config_is_the_embedded_default() -> None:
    written, embedded = supreme.load_config(CONFIGS / "default.toml"), supreme.load_config()
    # the file spells out the dataset's default target; everything else is identical
    assert written.model_copy(update={"targets": {}}) == embedded
    assert resolve(written, default()).cells() == resolve(embedded, default()).cells()


def test_pins_grid_is_the_papers() -> None:
    full = supreme.load_config(CONFIGS / "pins-paper-fullclass.toml")
    rand = supreme.load_config(CONFIGS / "pins-paper-random.toml")
    assert full.seeds.train == rand.seeds.train == list(range(260, 270))
    assert full.seeds.unlearn_per_train == full.seeds.eval_per_unlearn == 1  # matched
    paper = {"retrain", "finetune", "bad_teacher", "random_labeling", "unsir", "ssd", "lfssd"}
    assert set(full.methods) - {"original"} == paper
    assert set(rand.methods) - {"original"} == paper - {"unsir"}
    # both halves train the same M_o: identical dataset, model and training settings
    assert (full.datasets, full.models, full.training, full.fabric) == (
        rand.datasets, rand.models, rand.training, rand.fabric)
