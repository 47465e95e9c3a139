"""The package's tests: offline, with the Hugging Face caches in a temporary folder.

The datasets library and huggingface_hub read their environment once, at import, so the
fixture below sets both the environment (for the command-line tests' processes) and the
libraries' constants, for each test module, and restores them afterwards: the caches of
the machine are never read or written, also when the whole workspace runs in one session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from supreme import registry
from supreme_hf import fixtures


@pytest.fixture(autouse=True, scope="module")
def offline_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import datasets
    from huggingface_hub import constants

    root = tmp_path_factory.mktemp("hf-caches")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"HF_HUB_OFFLINE": "1", "HF_HOME": str(root / "home"),
                            "HF_HUB_CACHE": str(root / "hub"),
                            "HF_DATASETS_CACHE": str(root / "datasets"),
                            "WANDB_MODE": "offline"}.items():
            patch.setenv(name, value)
        patch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", root / "datasets")
        patch.setattr(constants, "HF_HUB_OFFLINE", True)
        patch.setattr(constants, "HF_HUB_CACHE", str(root / "hub"))
        yield root


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    """Each test starts with no runtime plugins (the installed ones load as usual)."""
    registry.reset()
    yield
    registry.reset()


@pytest.fixture(scope="session")
def digits() -> dict[str, fixtures.Images]:
    return fixtures.digits_like()


@pytest.fixture(scope="session")
def disk_root(tmp_path_factory: pytest.TempPathFactory, digits: dict[str, fixtures.Images]) -> Path:
    return fixtures.write_save_to_disk(tmp_path_factory.mktemp("disk") / "digits", digits)


@pytest.fixture(scope="session")
def folder_root(tmp_path_factory: pytest.TempPathFactory,
                digits: dict[str, fixtures.Images]) -> Path:
    return fixtures.write_imagefolder(tmp_path_factory.mktemp("folder") / "digits", digits)


@pytest.fixture(scope="session")
def parquet_root(tmp_path_factory: pytest.TempPathFactory,
                 digits: dict[str, fixtures.Images]) -> Path:
    return fixtures.write_parquet(tmp_path_factory.mktemp("parquet") / "digits", digits)


#: A model and a metric for runs through the command line (``--plugin``): this package
#: provides neither, and its tests run with only its own dependencies installed.
CLI_PLUGIN = '''"""TinyNet and a metric, for the command-line tests."""

import torch
from supreme import hookimpl
from supreme.contracts import Metric, ModelSpec
from supreme.testing import TinyNet, tiny_recipe


class Size(Metric):
    """Size of D'."""

    name = "size"

    def compute(self, ctx):
        return {"test": float(len(ctx.outputs("unlearned", "test").labels))}


class Tiny(ModelSpec):
    """TinyNet: two conv-BN-ReLU layers and a linear head."""

    name = "tiny"
    family = "tiny"
    default_recipe = tiny_recipe()

    def create(self, num_classes, in_channels, image_size):
        return TinyNet(num_classes, in_channels)


@hookimpl
def supreme_register_models():
    return [Tiny]


@hookimpl
def supreme_register_metrics():
    return [Size]
'''


@pytest.fixture(scope="session")
def cli_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plugin") / "tiny_plugin.py"
    path.write_text(CLI_PLUGIN)
    return path
