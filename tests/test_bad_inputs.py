"""The bad-input corpus: every way a user can hand SUPREME something wrong.

Each case runs the real command line in this process (``supreme.cli.main.main``) and
checks the exact error class (recorded where the CLI prints it), the exit code, a
fragment of the message, and that nothing was written: bad cases point at the output
directory of one real tiny run made once per session, whose every file and folder is
hashed before and compared after. Cases that break the store itself work on a copy of
that run and check that every artifact they did not break is byte-identical afterwards.

The components come from ``tests/bad_inputs/tinyplugin.py`` (a 1-epoch experiment that
takes about a second); the other files in ``tests/bad_inputs/`` are the bad inputs that
can live in the repository (the rest are written per case).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from supreme.errors import (
    CellsFailed,
    ConfigError,
    DatasetError,
    PluginError,
    SupremeError,
    UnknownComponentError,
    UsageError,
)

climain: Any = importlib.import_module("supreme.cli.main")  # the module (supreme.cli.main is also a function)
FIXTURES = Path(__file__).parent / "bad_inputs"
PLUGIN = str(FIXTURES / "tinyplugin.py")
BASE = ['datasets=["bi_toy"]', 'models=["bi_tiny"]', 'methods=["original","retrain"]',
        'metrics=["bi_acc"]', "training.epochs=1"]


def _wired_load_state() -> bool:
    from supreme.pipeline.run import Runner

    return "load_state(" in inspect.getsource(Runner.load)


# -- running the CLI ---------------------------------------------------------------------
@dataclass
class Outcome:
    code: int
    error: SupremeError | None
    out: str
    err: str


def cli(*args: str) -> Outcome:
    """``supreme ARGS`` in this process: exit code, the SupremeError printed, stdout, stderr."""
    seen: list[SupremeError] = []
    printer = climain.print_error

    def record(error: SupremeError) -> None:
        seen.append(error)
        printer(error)

    out, err = io.StringIO(), io.StringIO()
    code = 0
    climain.print_error = record
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            climain.main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        climain.print_error = printer
    return Outcome(code, seen[-1] if seen else None, out.getvalue(), err.getvalue())


def sets(*assignments: str) -> list[str]:
    return [arg for a in assignments for arg in ("--set", a)]


def run_args(out: Path, *overrides: str, command: str = "run", config: Path | None = None,
             plugins: tuple[str, ...] = (PLUGIN,)) -> list[str]:
    args = [arg for p in plugins for arg in ("--plugin", p)]
    args += [command, *([str(config)] if config else [])]
    return args + sets(*BASE, f'output_dir="{out}"', *overrides)


def snapshot(root: Path) -> dict[str, str]:
    """Every file (sha256) and folder under ``root``."""
    if not root.exists():
        return {}
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = f"link to {os.readlink(path)}"
        elif path.is_dir():
            found[rel] = "dir"
        elif path.is_file():
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[rel] = "special"  # a FIFO would block a read
    return found


def entries(root: Path) -> dict[str, str]:
    """The complete store artifacts (their meta.json and payload.pt) under ``root``."""
    return {k: v for k, v in snapshot(root / "store").items()
            if k.endswith(("meta.json", "payload.pt"))}


def values(run_dir: Path) -> list[tuple[Any, ...]]:
    rows = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    return sorted((r["method"], r["metric"], r["key"], r["value"]) for r in rows)


# -- the baseline: one real tiny run per session ---------------------------------------------
@dataclass
class Baseline:
    out: Path
    files: dict[str, str]
    values: list[tuple[Any, ...]]

    def original_key(self) -> str:
        rows = (self.out / "default" / "results.jsonl").read_text().splitlines()
        return next(json.loads(r)["artifact"] for r in rows if json.loads(r)["method"] == "original")

    def copy(self, where: Path) -> Path:
        shutil.copytree(self.out, where, symlinks=True)
        return where


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    out = tmp_path_factory.mktemp("baseline") / "runs"
    result = cli(*run_args(out))
    assert result.code == 0, result.err
    return Baseline(out, snapshot(out), values(out / "default"))


@dataclass
class Context:
    tmp: Path
    base: Baseline
    monkeypatch: pytest.MonkeyPatch
    marker: Path = field(init=False)

    def __post_init__(self) -> None:
        self.marker = self.tmp / "PWNED"


# -- inputs written per case ---------------------------------------------------------------
def image_folder(root: Path, classes: dict[str, int], size: tuple[int, int] = (12, 10)) -> Path:
    """``root/<class>/<i>.png``: ``count`` small RGB images per class."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    for index, (name, count) in enumerate(classes.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            colour = (40 * index % 256, 90 + 7 * i, 200 - 30 * index % 200)
            Image.new("RGB", size, colour).save(folder / f"{i:03d}.png")
    return root


FOLDER_CLASSES = {"cat": 5, "dog": 5, "emu": 5}


def pins(root: Path, *overrides: str) -> tuple[str, ...]:
    """Overrides that run the ``pins`` image-folder dataset from ``root`` at 8x8."""
    return ('datasets=["pins"]', f'dataset.pins.root="{root}"', "dataset.pins.image_size=8",
            'targets.fullclass=["cat"]', *overrides)


class Evil:
    """Unpickling this would run a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def tamper(directory: Path, payload: bytes) -> None:
    """Replace an artifact's payload and update its checksum (a deliberate, consistent edit)."""
    (directory / "payload.pt").write_bytes(payload)
    meta = json.loads((directory / "meta.json").read_text())
    meta["sha256"] = hashlib.sha256(payload).hexdigest()
    (directory / "meta.json").write_text(json.dumps(meta))


def torch_bytes(obj: Any) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


# -- the corpus --------------------------------------------------------------------------------
#: where a case may write: "nothing" (the baseline run and the case's own folder are
#: unchanged), "store" (a copy of the baseline: artifacts it did not break stay identical,
#: nothing new is added to the store), "recompute" (a copy whose broken artifact is
#: recomputed with a warning; results equal the baseline's)
Setup = Callable[[Context], list[str]]


@dataclass
class Case:
    id: str
    setup: Setup
    error: type[SupremeError] | None
    code: int
    fragment: str
    writes: str = "nothing"
    wiring: str | None = None  # what run.py must call for this case to pass
    skip_if: Callable[[], str | None] = lambda: None
    #: text that must not appear in the output (a secret, advice to delete a device)
    absent: tuple[str, ...] = ()

    def param(self) -> Any:
        marks = []
        if self.wiring == "load_state" and not _wired_load_state():
            marks.append(pytest.mark.xfail(strict=True, reason="Runner.load does not call "
                                           "supreme.pipeline.checkpoint.load_state yet"))
        return pytest.param(self, id=self.id, marks=marks)


def on_base(*overrides: str, command: str = "run") -> Setup:
    return lambda c: run_args(c.base.out, *overrides, command=command)


def on_tmp(*overrides: str) -> Setup:
    return lambda c: run_args(c.tmp / "out", *overrides)


def toml_file(name_or_text: str | bytes, *overrides: str) -> Setup:
    def setup(c: Context) -> list[str]:
        if isinstance(name_or_text, str) and (FIXTURES / name_or_text).is_file():
            path = FIXTURES / name_or_text
        else:
            path = c.tmp / "experiment.toml"
            data = name_or_text if isinstance(name_or_text, bytes) else name_or_text.encode()
            path.write_bytes(data)
        # no BASE overrides: the file alone must be rejected
        return ["--plugin", PLUGIN, "run", str(path), *sets(f'output_dir="{c.base.out}"', *overrides)]
    return setup


def with_plugin(name: str, *overrides: str, strict: bool = False) -> Setup:
    def setup(c: Context) -> list[str]:
        path = FIXTURES / name if (FIXTURES / name).exists() else c.tmp / name
        args = run_args(c.base.out, *overrides, plugins=(PLUGIN, str(path)))
        return ["--strict-plugins", *args] if strict else args
    return setup


def raw(*args: str) -> Setup:
    return lambda c: list(args)


def _cuda_present() -> str | None:
    import torch

    return "this machine has a CUDA GPU" if torch.cuda.is_available() else None


def _syntax_error_plugin(c: Context) -> list[str]:
    path = c.tmp / "plugin_syntax.py"
    path.write_text("def supreme_register_methods(:\n    return []\n")
    return run_args(c.base.out, plugins=(PLUGIN, str(path)))


def _not_python_plugin(c: Context) -> list[str]:
    path = c.tmp / "plugin.txt"
    path.write_text("print('hello')\n")
    return run_args(c.base.out, plugins=(PLUGIN, str(path)))


def _directory_plugin(c: Context) -> list[str]:
    (c.tmp / "plugin.py").mkdir()
    return run_args(c.base.out, plugins=(PLUGIN, str(c.tmp / "plugin.py")))


def _config_is_directory(c: Context) -> list[str]:
    (c.tmp / "experiment.toml").mkdir()
    return run_args(c.base.out, config=c.tmp / "experiment.toml")


def _config_missing(c: Context) -> list[str]:
    return run_args(c.base.out, config=c.tmp / "nope.toml")


def _output_dir_is_file(c: Context) -> list[str]:
    (c.tmp / "runs").write_text("not a folder\n")
    return run_args(c.tmp / "runs")


def _output_parent_is_file(c: Context) -> list[str]:
    (c.tmp / "runs").write_text("not a folder\n")
    return run_args(c.tmp / "runs" / "sub")


def _run_dir_is_file(c: Context) -> list[str]:
    (c.tmp / "out").mkdir()
    (c.tmp / "out" / "default").write_text("not a folder\n")
    return run_args(c.tmp / "out")


def _results_is_directory(c: Context) -> list[str]:
    (c.tmp / "out" / "default" / "results.jsonl").mkdir(parents=True)
    return run_args(c.tmp / "out")


def _store_is_file(c: Context) -> list[str]:
    (c.tmp / "out").mkdir()
    (c.tmp / "out" / "store").write_text("not a folder\n")
    return run_args(c.tmp / "out")


def _folder(classes: dict[str, int], then: Callable[[Path], None] | None = None,
            *overrides: str) -> Setup:
    def setup(c: Context) -> list[str]:
        root = image_folder(c.tmp / "faces", classes)
        if then is not None:
            then(root)
        return run_args(c.tmp / "out", *pins(root, *overrides))
    return setup


def _write(rel: str, data: bytes) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return edit


def _truncated(keep: float) -> Callable[[Path], None]:
    """A noisy JPEG in ``dog/`` cut to ``keep`` of its bytes (a failed download or copy)."""
    def edit(root: Path) -> None:
        import numpy as np
        from PIL import Image

        path = root / "dog" / "big.jpg"
        noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
        Image.fromarray(noise).save(path, quality=95)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
    return edit


def _flat_images(root: Path) -> None:
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (8, 8)).save(root / f"{i}.png")


def _root_is_file(c: Context) -> list[str]:
    (c.tmp / "faces.zip").write_bytes(b"PK\x03\x04 an archive, not extracted")
    return run_args(c.tmp / "out", *pins(c.tmp / "faces.zip"))


def _lab_image(root: Path) -> None:
    from PIL import Image

    Image.new("LAB", (8, 8)).save(root / "dog" / "lab.tif")


def _bomb(c: Context) -> list[str]:
    from PIL import Image

    root = image_folder(c.tmp / "faces", FOLDER_CLASSES)
    Image.new("RGB", (40, 40)).save(root / "dog" / "huge.png")
    c.monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200)  # 40x40 > 2 x 200: a "bomb"
    return run_args(c.tmp / "out", *pins(root))


def _malicious_cifar(c: Context) -> list[str]:
    import pickle

    from supreme_vision.fixtures import write_cifar10

    write_cifar10(c.tmp / "cifar", train_per_class=2, test_per_class=1)
    batch = c.tmp / "cifar" / "cifar-10-batches-py" / "data_batch_1"
    batch.write_bytes(pickle.dumps({b"data": Evil(c.marker)}, protocol=2))
    return run_args(c.tmp / "out", 'datasets=["cifar10"]', f'dataset.cifar10.root="{c.tmp / "cifar"}"',
                    'scenarios=["random"]', 'targets.random=["0.1"]')


def _store_case(edit: Callable[[Context, Path], None], *overrides: str) -> Setup:
    def setup(c: Context) -> list[str]:
        out = c.base.copy(c.tmp / "copy")
        edit(c, out / "store" / "models" / c.base.original_key())
        return run_args(out, *overrides)
    return setup


def _malicious_payload(c: Context, directory: Path) -> None:
    tamper(directory, torch_bytes({"head.weight": Evil(c.marker)}))


def _raw_pickle_payload(c: Context, directory: Path) -> None:
    import pickle

    tamper(directory, pickle.dumps({"head.weight": Evil(c.marker)}))  # not even a torch file


def _truncated_payload(c: Context, directory: Path) -> None:
    data = (directory / "payload.pt").read_bytes()
    (directory / "payload.pt").write_bytes(data[: len(data) // 2])


def _zero_payload(c: Context, directory: Path) -> None:
    (directory / "payload.pt").write_bytes(b"")


def _missing_payload(c: Context, directory: Path) -> None:
    (directory / "payload.pt").unlink()


def _garbled_meta(c: Context, directory: Path) -> None:
    (directory / "meta.json").write_text('{"seconds": 1.0, "sha256": ')


def _meta_not_object(c: Context, directory: Path) -> None:
    (directory / "meta.json").write_text("[1, 2, 3]")


def _payload_not_mapping(c: Context, directory: Path) -> None:
    import torch

    tamper(directory, torch_bytes([torch.zeros(3)]))


def _other_architecture(c: Context, directory: Path) -> None:
    from supreme.testing import TinyNet

    tamper(directory, torch_bytes(TinyNet(4, 1, width=16).state_dict()))  # baseline: width 4


def _deep(depth: int, scalar: str = "1") -> str:
    return "[" * depth + scalar + "]" * depth


def _outside(c: Context) -> Path:
    """A folder outside every store, whose files must never be read through or written."""
    folder = c.tmp / "outside"
    folder.mkdir(exist_ok=True)
    (folder / "precious.txt").write_text("precious\n")
    return folder


def _link_meta(c: Context, directory: Path) -> None:
    outside = _outside(c)
    shutil.copy(directory / "meta.json", outside / "meta.json")
    (directory / "meta.json").unlink()
    (directory / "meta.json").symlink_to(outside / "meta.json")


def _link_payload(c: Context, directory: Path) -> None:
    outside = _outside(c)
    shutil.copy(directory / "payload.pt", outside / "payload.pt")
    (directory / "payload.pt").unlink()
    (directory / "payload.pt").symlink_to(outside / "payload.pt")


def _link_lock(c: Context, directory: Path) -> None:
    """The lock of M_o is a link to a precious outside file, and M_o must be recomputed."""
    outside = _outside(c)
    (directory / ".lock").unlink(missing_ok=True)
    (directory / ".lock").symlink_to(outside / "precious.txt")
    (directory / "payload.pt").write_bytes(b"")


def _linked_kind_dir(c: Context) -> list[str]:
    out = c.base.copy(c.tmp / "copy")
    outside = _outside(c)
    shutil.move(out / "store" / "models", outside / "models")
    (out / "store" / "models").symlink_to(outside / "models")
    return run_args(out)


def _gc_linked_artifact(c: Context) -> list[str]:
    out = c.base.copy(c.tmp / "copy")
    outside = _outside(c)
    (out / "store" / "models" / "0123456789abcdef01234567").symlink_to(outside)
    (out / "store" / "splits" / "x.lock").symlink_to(outside / "precious.txt")
    return ["gc", str(out)]


def _device_output(path: str) -> Setup:
    def setup(c: Context) -> list[str]:
        return run_args(Path(path))
    return setup


def _fifo_output(c: Context) -> list[str]:
    os.mkfifo(c.tmp / "runs")
    return run_args(c.tmp / "runs")


def _supreme_data_file(c: Context) -> list[str]:
    (c.tmp / "data.tar").write_bytes(b"an archive, not a folder")
    c.monkeypatch.setenv("SUPREME_DATA", str(c.tmp / "data.tar"))
    return run_args(c.tmp / "out", 'datasets=["cifar10"]', 'scenarios=["random"]')


def _root_under_file(c: Context) -> list[str]:
    (c.tmp / "data.tar").write_bytes(b"an archive, not a folder")
    return run_args(c.tmp / "out", 'datasets=["cifar10"]', 'scenarios=["random"]',
                    f'dataset.cifar10.root="{c.tmp / "data.tar" / "cifar"}"')


def _report_of(lines: bytes, name: str = "results.jsonl") -> Setup:
    def setup(c: Context) -> list[str]:
        run_dir = c.tmp / "run"
        run_dir.mkdir()
        good = (c.base.out / "default" / "results.jsonl").read_bytes()
        if name == "results.jsonl":
            (run_dir / name).write_bytes(good.splitlines(keepends=True)[0] + lines)
        else:
            (run_dir / "results.jsonl").write_bytes(good)
            (run_dir / name).write_bytes(lines)
        return ["report", str(run_dir), "--out", str(c.tmp / "report")]
    return setup


def _unreadable_run_config(c: Context) -> list[str]:
    (c.tmp / "out" / "default").mkdir(parents=True)
    (c.tmp / "out" / "default" / "config.json").write_bytes(b"\xff not json")
    return run_args(c.tmp / "out")


SECRET = "zz-very-secret-value-42"

CASES = [
    # -- the experiment file ------------------------------------------------------------
    Case("toml-malformed", toml_file("malformed.toml"), ConfigError, 2, "is not valid TOML"),
    Case("toml-duplicate-key", toml_file("duplicate_key.toml"), ConfigError, 2, "is not valid TOML"),
    Case("toml-not-utf8", toml_file("not_utf8.toml"), ConfigError, 2, "is not UTF-8 text"),
    Case("toml-binary-garbage", toml_file(b"\x00\x01\x02PK\x03\x04"), ConfigError, 2,
         "is not valid TOML"),
    Case("toml-missing-file", _config_missing, ConfigError, 2, "does not exist"),
    Case("toml-is-a-directory", _config_is_directory, ConfigError, 2, "is a directory"),
    Case("toml-unknown-precision", toml_file("unknown_precision.toml"), ConfigError, 2,
         "fabric.precision = 'fp8': Value error, unknown precision"),
    Case("toml-unicode-method-table", toml_file("unicode_method_table.toml"), ConfigError, 2,
         "[method.fïnetune]: unknown method 'fïnetune'"),
    # -- wrong types ----------------------------------------------------------------------
    Case("type-seeds-string", on_base("seeds.train='zero'"), ConfigError, 2,
         "seeds.train = 'zero'"),
    Case("type-datasets-string", toml_file('datasets = "digits"\n'), ConfigError, 2,
         "datasets = 'digits': Input should be a valid list"),
    Case("type-epochs-string", on_base("training.epochs=ten"), ConfigError, 2,
         "training.epochs = 'ten'"),
    Case("type-fabric-scalar", toml_file("fabric = 3\n"), ConfigError, 2, "fabric = 3"),
    Case("type-method-table-scalar", on_base("method.finetune=3"), ConfigError, 2,
         "method.finetune = 3"),
    Case("type-deterministic-string", on_base("deterministic='maybe'"), ConfigError, 2,
         "deterministic = 'maybe'"),
    # -- unknown keys and names ----------------------------------------------------------
    Case("unknown-top-level-key", on_base("bogus=1"), ConfigError, 2, "bogus: unknown key"),
    Case("unknown-nested-key", on_base("training.learning_rate=0.1"), ConfigError, 2,
         "training.learning_rate: unknown key"),
    Case("unknown-component-key", on_base("model.bi_tiny.depth=3"), ConfigError, 2,
         "model.bi_tiny.depth: unknown key"),
    Case("unknown-method-suggests", on_base('methods=["original","retrian"]'),
         UnknownComponentError, 2, "Did you mean 'retrain'?"),
    Case("unknown-dataset-table", on_base("dataset.nope.root='x'"), ConfigError, 2,
         "[dataset.nope]: unknown dataset 'nope'"),
    Case("unknown-scenario", on_base('scenarios=["partial"]'), ConfigError, 2,
         "scenarios.0 = 'partial'"),
    # -- seeds, epochs and numbers ---------------------------------------------------------
    Case("seed-negative", on_base("seeds.train=[-1]"), ConfigError, 2, "seed -1 is outside"),
    Case("seed-huge", on_base("seeds.train=[9223372036854775807]"), ConfigError, 2,
         "seed 9223372036854775807 is outside"),
    Case("seeds-duplicate", on_base("seeds.train=[0,0]"), ConfigError, 2, "must be distinct"),
    Case("seeds-empty", on_base("seeds.train=[]"), ConfigError, 2, "seeds.train = []"),
    Case("sparse-too-many-seeds", on_base("seeds.protocol='sparse'", "seeds.unlearn_per_train=1001"),
         ConfigError, 2, "at most 1000 seeds per level"),
    Case("epochs-zero", on_base("training.epochs=0"), ConfigError, 2, "training.epochs = 0"),
    Case("epochs-negative", on_base("training.epochs=-3"), ConfigError, 2, "training.epochs = -3"),
    Case("epochs-huge", on_base("training.epochs=1000000000"), ConfigError, 2,
         "training.epochs = 1000000000"),
    Case("lr-infinite", on_base("training.lr=inf"), ConfigError, 2,
         "training.lr = inf: Input should be a finite number"),
    Case("lr-nan", on_base("training.lr=nan"), ConfigError, 2, "training.lr = nan"),
    Case("milestones-decreasing", on_base("training.milestones=[5,2]"), ConfigError, 2,
         "milestones must be distinct and increasing"),
    Case("batch-size-zero", on_base("unlearning.eval_batch_size=0"), ConfigError, 2,
         "unlearning.eval_batch_size = 0"),
    # -- names and paths --------------------------------------------------------------------
    Case("name-path-traversal", on_base('name="../../etc"'), ConfigError, 2, "name = '../../etc'"),
    Case("name-absolute", on_base('name="/etc/passwd"'), ConfigError, 2, "name = '/etc/passwd'"),
    Case("name-unicode", on_base('name="résumé"'), ConfigError, 2, "name = 'résumé'"),
    Case("name-reserved-store", on_base('name="store"'), ConfigError, 2,
         "output_dir/store is the artifact store"),
    Case("name-too-long", on_base(f'name="{"x" * 101}"'), ConfigError, 2, "at most 100 characters"),
    Case("output-dir-nul", on_base('output_dir="runs\\u0000x"'), ConfigError, 2,
         "contains a NUL character"),
    Case("output-dir-is-a-file", _output_dir_is_file, ConfigError, 2, "is a file, not a directory"),
    Case("output-parent-is-a-file", _output_parent_is_file, ConfigError, 2,
         "is a file, so"),
    Case("run-dir-is-a-file", _run_dir_is_file, ConfigError, 2, "is a file, not a directory"),
    Case("store-dir-is-a-file", _store_is_file, ConfigError, 2, "is a file, not a directory"),
    Case("results-file-is-a-directory", _results_is_directory, ConfigError, 2,
         "results.jsonl is a directory, but the run writes a file there"),
    Case("slurm-folder-absolute", on_base('slurm.folder="/tmp/logs"'), ConfigError, 2,
         "must be a relative path inside the run directory"),
    Case("slurm-folder-traversal", on_base('slurm.folder="../../logs"'), ConfigError, 2,
         "must not contain '..'"),
    # -- targets and scenarios ----------------------------------------------------------------
    Case("target-unknown-class", on_base('targets.fullclass=["zebra"]'), ConfigError, 2,
         "forget target 'zebra' is not a class"),
    Case("target-duplicate", on_base('targets.fullclass=["b","b"]'), ConfigError, 2,
         "target 'b' is listed twice"),
    Case("targets-empty-list", on_base("targets.fullclass=[]"), ConfigError, 2,
         "targets.fullclass is empty"),
    Case("random-fraction-one", on_base('scenarios=["random"]', 'targets.random=["1.0"]'),
         ConfigError, 2, "random target '1.0' is neither a fraction"),
    Case("random-fraction-above-one", on_base('scenarios=["random"]', 'targets.random=["1.5"]'),
         ConfigError, 2, "random target '1.5'"),
    Case("random-zero", on_base('scenarios=["random"]', 'targets.random=["0"]'), ConfigError, 2,
         "random target '0' is not a fraction"),
    Case("random-negative", on_base('scenarios=["random"]', 'targets.random=["-0.1"]'),
         ConfigError, 2, "random target '-0.1'"),
    Case("random-nan", on_base('scenarios=["random"]', 'targets.random=["nan"]'), ConfigError, 2,
         "random target 'nan'"),
    Case("random-count-whole-train-set", on_base('scenarios=["random"]', 'targets.random=["64"]'),
         ConfigError, 2, "would forget 64 of the 64 training samples"),
    Case("subclass-without-hierarchy", on_base('scenarios=["subclass"]'), ConfigError, 2,
         "does not support the 'subclass' scenario"),
    Case("method-scenario-unsupported", on_base('methods=["original","unsir"]',
                                                'scenarios=["random"]'),
         ConfigError, 2, "method 'unsir' does not support the 'random' scenario"),
    Case("empty-forget-set", on_base('datasets=["bi_gappy"]', 'targets.fullclass=["d"]'),
         ConfigError, 2, "the forget set D_f of 'bi_gappy' would be empty"),
    Case("empty-retain-set", on_base('datasets=["bi_oneclass"]', 'targets.fullclass=["a"]'),
         ConfigError, 2, "the retain set D_r of 'bi_oneclass' would be empty"),
    Case("labels-out-of-range", on_base('datasets=["bi_badlabels"]'), DatasetError, 1,
         "train labels run from 1 to 7"),
    # -- metrics ----------------------------------------------------------------------------
    Case("metric-unknown-need", on_base('metrics=["bi_acc","bi_wants_gpu"]'), PluginError, 2,
         "needs 'gpu', which the pipeline cannot provide"),
    Case("metric-features-without-linear", on_base('models=["bi_nolinear"]',
                                                   'metrics=["bi_features"]'),
         ConfigError, 2, "model 'bi_nolinear' has no nn.Linear layer"),
    # -- [fabric] against this machine ----------------------------------------------------
    Case("fabric-cuda-without-gpu", on_base("fabric.accelerator=cuda"), ConfigError, 2,
         "fabric.accelerator = 'cuda': this machine has no usable CUDA GPU",
         skip_if=_cuda_present),
    Case("fabric-16-mixed-on-cpu", on_base("fabric.precision=16-mixed"), ConfigError, 2,
         "float16 mixed precision is not supported on the CPU"),
    Case("fabric-fsdp-on-cpu", on_base("fabric.strategy=fsdp"), ConfigError, 2,
         "fabric.strategy = 'fsdp': needs CUDA GPUs"),
    Case("fabric-deepspeed-on-cpu", on_base("fabric.strategy=deepspeed"), ConfigError, 2,
         "fabric.strategy = 'deepspeed': needs CUDA GPUs"),
    Case("fabric-dp-on-cpu", on_base("fabric.strategy=dp"), ConfigError, 2,
         "DataParallel does not run on the CPU"),
    Case("fabric-unknown-strategy", on_base("fabric.strategy=ddpp"), ConfigError, 2,
         "Did you mean 'ddp'?"),
    Case("fabric-unknown-accelerator", on_base("fabric.accelerator=cdua"), ConfigError, 2,
         "unknown accelerator (did you mean 'cuda'?)"),
    Case("fabric-unknown-precision", on_base("fabric.precision=half"), ConfigError, 2,
         "unknown precision"),
    Case("fabric-devices-zero", on_base("fabric.devices=0"), ConfigError, 2, "fabric.devices = 0"),
    Case("fabric-devices-garbage", on_base("fabric.devices=two"), ConfigError, 2,
         "fabric.devices = 'two'"),
    Case("fabric-cpu-device-indices", on_base('fabric.devices="0,1"'), ConfigError, 2,
         "device indices mean nothing on the CPU"),
    Case("fabric-zero-nodes", on_base("fabric.num_nodes=0"), ConfigError, 2,
         "fabric.num_nodes = 0"),
    # -- image folders ----------------------------------------------------------------------
    Case("folder-missing", lambda c: run_args(c.tmp / "out", *pins(c.tmp / "nowhere")),
         DatasetError, 1, "dataset files not found"),
    Case("folder-without-class-folders", _folder({}), DatasetError, 1, "dataset files not found"),
    Case("folder-images-without-class-folders", _folder({}, _flat_images), DatasetError, 1,
         "holds images but no class folders"),
    Case("folder-root-is-a-file", _root_is_file, DatasetError, 1, "is a file, not a folder"),
    Case("folder-empty-class", _folder({**FOLDER_CLASSES, "fox": 0}), DatasetError, 1,
         "1 class folder(s) in"),
    Case("folder-only-non-image-files", _folder(FOLDER_CLASSES, _write("fox/notes.txt", b"x")),
         DatasetError, 1, "'fox' (1 file(s) that are not images)"),
    Case("folder-file-that-is-not-an-image",
         _folder(FOLDER_CLASSES, _write("dog/photo.jpg", b"<html>not an image</html>")),
         DatasetError, 1, "photo.jpg: not a readable image"),
    Case("folder-class-too-small", _folder({**FOLDER_CLASSES, "fox": 1}), DatasetError, 1,
         "too small for a train/test split"),
    Case("folder-unsupported-mode", _folder(FOLDER_CLASSES, _lab_image), DatasetError, 1,
         "unsupported image mode 'LAB'"),
    Case("folder-decompression-bomb", _bomb, DatasetError, 1, "decompression bomb"),
    Case("folder-image-truncated-in-header", _folder(FOLDER_CLASSES, _truncated(0.01)),
         DatasetError, 1, "big.jpg: not a readable image"),
    # damage past the header shows only when decoding: the dataset stage fails, nothing is stored
    Case("folder-image-truncated-late", _folder(FOLDER_CLASSES, _truncated(0.7)), CellsFailed, 1,
         "cannot decode image", writes="run"),
    # -- untrusted files ------------------------------------------------------------------------
    Case("cifar-malicious-pickle", _malicious_cifar, DatasetError, 1,
         "names the global posix.system"),
    Case("store-malicious-payload", _store_case(_malicious_payload), None, 0,
         "cannot be loaded safely", writes="recompute"),
    Case("store-raw-pickle-payload", _store_case(_raw_pickle_payload), None, 0,
         "is not a plain tensor file (Unsupported operand", writes="recompute"),
    Case("store-truncated-payload", _store_case(_truncated_payload), None, 0,
         "does not match its checksum", writes="recompute"),
    Case("store-empty-payload", _store_case(_zero_payload), None, 0,
         "does not match its checksum (0 bytes", writes="recompute"),
    Case("store-missing-payload", _store_case(_missing_payload), None, 0,
         "has no readable payload", writes="recompute"),
    Case("store-garbled-meta", _store_case(_garbled_meta), None, 0, "has an unreadable meta.json",
         writes="recompute"),
    Case("store-meta-not-an-object", _store_case(_meta_not_object), None, 0,
         "has a malformed meta.json", writes="recompute"),
    Case("store-payload-not-a-mapping", _store_case(_payload_not_mapping), None, 0,
         "expected a mapping of names to tensors, got list", writes="recompute"),
    Case("store-other-architecture",
         _store_case(_other_architecture, 'methods=["original","retrain","bi_ascent"]',
                     'name="arch"'),
         CellsFailed, 1, "holds weights of another architecture", writes="store",
         wiring="load_state"),
    # -- plugins ----------------------------------------------------------------------------------
    Case("plugin-raises-on-import", with_plugin("plugin_raises_on_import.py"), PluginError, 2,
         "raised on import: RuntimeError: this plugin fails on import on purpose"),
    Case("plugin-exits-on-import", with_plugin("plugin_exits_on_import.py"), PluginError, 2,
         "it called sys.exit(3)"),
    Case("plugin-syntax-error", _syntax_error_plugin, PluginError, 2, "SyntaxError at line 1"),
    Case("plugin-missing-file", with_plugin("no_such_plugin.py"), PluginError, 2, "does not exist"),
    Case("plugin-not-python", _not_python_plugin, PluginError, 2, "is not a Python file"),
    Case("plugin-is-a-directory", _directory_plugin, PluginError, 2, "is a directory"),
    Case("plugin-misspelt-hook", with_plugin("plugin_misspelt_hook.py"), PluginError, 2,
         "Did you mean 'supreme_register_methods'?"),
    Case("plugin-register-hook-raises-strict", with_plugin("plugin_register_raises.py", strict=True),
         PluginError, 2, "RuntimeError: registration fails on purpose"),
    Case("plugin-bad-component-name-strict", with_plugin("plugin_bad_name.py", strict=True),
         PluginError, 2, "is not a valid name"),
    Case("plugin-duplicate-method", with_plugin("plugin_duplicate_method.py"), PluginError, 2,
         "two plugins register the method 'retrain'"),
    Case("plugin-commands-hook-raises", with_plugin("plugin_commands_hook_raises.py"), PluginError, 2,
         "raised in its supreme_register_commands hook: ValueError"),
    Case("plugin-stage-hook-raises", lambda c: run_args(
        c.tmp / "out", plugins=(PLUGIN, str(FIXTURES / "plugin_stage_hook_raises.py"))),
         PluginError, 2, "raised in its supreme_stage_start hook: RuntimeError", writes="run"),
    # -- the command line ---------------------------------------------------------------------------
    Case("set-without-equals", on_base("seeds.train"), ConfigError, 2, "is not of the form"),
    Case("set-empty-key-part", on_base("seeds..train=[1]"), ConfigError, 2, "is not of the form"),
    Case("set-into-a-value", on_base("training.epochs.max=3"), ConfigError, 2,
         "'epochs' is a value, not a table"),
    Case("cli-unknown-option", lambda c: [*run_args(c.base.out), "--bogus"], None, 2,
         "No such option: --bogus"),
    Case("cli-unknown-command", raw("frobnicate"), None, 2, "No such command 'frobnicate'"),
    Case("cli-plugin-without-value", raw("--plugin"), None, 2, "requires an argument"),
    Case("cli-run-plugin-without-value", raw("run", "--plugin"), None, 2, "--plugin"),
    Case("cli-list-unknown-kind", raw("list", "widgets"), None, 2, "widgets"),
    Case("cli-report-missing-run-dir", lambda c: ["report", str(c.tmp / "nope")], UsageError, 2,
         "results.jsonl does not exist"),
    # -- nesting (a RecursionError must never escape) -------------------------------------------
    Case("toml-nested-100000-deep", toml_file(f"a = {_deep(100_000)}\n".encode()), ConfigError, 2,
         "nested more than 32 levels deep"),
    Case("toml-nested-40-deep", toml_file(f"a = {_deep(40)}\n".encode()), ConfigError, 2,
         "nested more than 32 levels deep"),
    Case("toml-tables-40-deep", toml_file(("[" + ".".join(["t"] * 40) + "]\nx = 1\n").encode()), ConfigError,
         2, "nested more than 32 levels deep"),
    Case("set-value-nested-100000-deep", on_base(f"seeds.train={_deep(100_000, '0')}"), ConfigError,
         2, "nested more than 32 levels deep"),
    Case("set-inline-tables-deep", on_base("method.x=" + "{a=" * 50 + "1" + "}" * 50), ConfigError,
         2, "nested more than 32 levels deep"),
    Case("set-key-with-100-parts", on_base("a." * 100 + "b=1"), ConfigError, 2,
         "the key has 101 parts"),
    # -- targets spelt differently ----------------------------------------------------------------
    Case("random-targets-same-fraction", on_base('scenarios=["random"]',
                                                 'targets.random=["0.5","0.50"]'),
         ConfigError, 2, "targets '0.5' and '0.50' are the same target"),
    Case("random-targets-exponent", on_base('scenarios=["random"]', 'targets.random=["0.25","2.5e-1"]'),
         ConfigError, 2, "targets '0.25' and '2.5e-1' are the same target"),
    Case("random-targets-leading-zero-count", on_base('scenarios=["random"]',
                                                      'targets.random=["16","016"]'),
         ConfigError, 2, "targets '16' and '016' are the same target"),
    Case("random-targets-fraction-and-count", on_base('scenarios=["random"]',
                                                      'targets.random=["0.25","16"]'),
         ConfigError, 2, "'0.25' and '16' both forget 16 of the 64 training samples"),
    Case("class-targets-unicode-forms", on_base('targets.fullclass=["\u00e9","e\u0301"]'),
         ConfigError, 2, "are the same target in targets.fullclass"),
    # -- output locations that are not folders -----------------------------------------------------
    Case("output-dir-is-dev-null", _device_output("/dev/null"), ConfigError, 2,
         "/dev/null is a character device, not a directory", absent=("delete",)),
    Case("output-dir-under-dev-null", _device_output("/dev/null/runs"), ConfigError, 2,
         "/dev/null is a character device, so", absent=("delete", "move /dev")),
    Case("output-dir-is-a-fifo", _fifo_output, ConfigError, 2, "is a named pipe (FIFO)",
         absent=("delete",)),
    Case("output-dir-name-too-long", on_base(f'output_dir="{"r" * 300}"'), ConfigError, 2,
         "output_dir is too long for the file system"),
    # -- dataset locations -------------------------------------------------------------------------------
    Case("supreme-data-is-a-file", _supreme_data_file, DatasetError, 1,
         "data.tar is a file, not a folder, so no dataset can be found"),
    Case("dataset-root-under-a-file", _root_under_file, DatasetError, 1,
         "data.tar is a file, not a folder"),
    # -- launch: processes, nodes, sizes ----------------------------------------------------------------
    Case("fabric-nodes-without-launcher", on_base("fabric.num_nodes=2"), ConfigError, 2,
         "needs a multi-node launcher"),
    Case("fabric-nodes-huge", on_base("fabric.num_nodes=1000000"), ConfigError, 2,
         "fabric.num_nodes = 1000000"),
    Case("fabric-devices-huge", on_base("fabric.devices=100000"), ConfigError, 2,
         "asks for more than 1024 devices per node"),
    Case("fabric-devices-huge-string", on_base('fabric.devices="99999"'), ConfigError, 2,
         "asks for more than 1024 devices per node"),
    Case("fabric-devices-many-indices", on_base('fabric.devices="' + ",".join(map(str, range(2000)))
                                                + '"'), ConfigError, 2, "more than 1024 devices"),
    Case("fabric-cpu-processes-beyond-cores", on_base("fabric.devices=64"), ConfigError, 2,
         "would start 64 processes on"),
    Case("workers-beyond-cores", lambda c: [*run_args(c.base.out), "--workers", "200"],
         ConfigError, 2, "would start 200 processes"),
    Case("grid-too-large", on_base("seeds.unlearn_per_train=10000", "seeds.eval_per_unlearn=10000"),
         ConfigError, 2, "the experiment has 100,000,000 cells"),
    Case("seeds-too-many", on_base(f"seeds.train=[{','.join(map(str, range(10_001)))}]"),
         ConfigError, 2, "seeds.train"),
    Case("lr-huge", on_base("training.lr=1e300"), ConfigError, 2, "training.lr = 1e+300"),
    Case("weight-decay-huge", on_base("training.weight_decay=1e9"), ConfigError, 2,
         "training.weight_decay = 1000000000.0"),
    Case("warmup-huge", on_base("training.warmup_epochs=10000000000"), ConfigError, 2,
         "training.warmup_epochs"),
    Case("milestone-huge", on_base("training.milestones=[1,99999999999]"), ConfigError, 2,
         "training.milestones.1 = 99999999999: Input should be less than or equal to 100000"),
    Case("slurm-memory-huge", on_base("slurm.mem_gb=1e12"), ConfigError, 2, "slurm.mem_gb"),
    Case("slurm-memory-inf", on_base("slurm.mem_gb=inf"), ConfigError, 2, "slurm.mem_gb"),
    Case("peer-timeout-zero", on_base("launch.peer_timeout_s=0"), ConfigError, 2,
         "launch.peer_timeout_s = 0"),
    Case("peer-timeout-nan", on_base("launch.peer_timeout_s=nan"), ConfigError, 2,
         "launch.peer_timeout_s = nan"),
    # -- one run directory, one experiment ---------------------------------------------------------
    Case("run-dir-holds-another-experiment", on_base('methods=["original"]'), ConfigError, 2,
         "holds the results of another experiment"),
    Case("run-dir-other-experiment-names-the-fix", on_base("training.epochs=2"), ConfigError, 2,
         "--set name=NEW_NAME, or replace the old results with --overwrite"),
    Case("run-dir-unreadable-config", _unreadable_run_config, ConfigError, 2,
         "holds a config.json that is not a readable experiment"),
    # -- supreme report on damaged records -----------------------------------------------------------
    Case("report-line-not-utf8", _report_of(b"\xff\xfe garbage\n"), UsageError, 2,
         "results.jsonl:2 is not UTF-8 text"),
    Case("report-record-not-an-object", _report_of(b"[1, 2, 3]\n"), UsageError, 2,
         "results.jsonl:2 is not a result record: expected a JSON object, got list"),
    Case("report-record-missing-field", _report_of(b'{"method": "x"}\n'), UsageError, 2,
         "results.jsonl:2 is not a result record: it has no 'dataset'"),
    Case("report-value-not-a-number", _report_of(
        b'{"dataset":"d","model":"m","scenario":"s","target":"t","train_seed":0,"unlearn_seed":0,'
        b'"eval_seed":0,"method":"x","metric":"y","key":"k","value":"high"}\n'), UsageError, 2,
         "'value' is \"high\", not a number"),
    Case("report-seed-not-an-integer", _report_of(
        b'{"dataset":"d","model":"m","scenario":"s","target":"t","train_seed":"0","unlearn_seed":0,'
        b'"eval_seed":0,"method":"x","metric":"y","key":"k","value":1}\n'), UsageError, 2,
         "'train_seed' is \"0\", not an integer"),
    Case("report-record-nested-deep", _report_of(_deep(100_000).encode() + b"\n"), UsageError, 2,
         "results.jsonl:2 is not a JSON record"),
    Case("report-failures-not-utf8", _report_of(b"\xc3\x28\n", "failures.jsonl"), UsageError, 2,
         "failures.jsonl:1 is not UTF-8 text"),
    # -- secrets are never shown --------------------------------------------------------------------
    Case("secret-in-bad-slurm-extra", on_base(f'slurm.extra.api_token=[1,"{SECRET}"]'),
         ConfigError, 2, "slurm.extra.api_token", absent=(SECRET,)),
    Case("secret-in-malformed-set", on_base(f"method..api_key={SECRET}"), ConfigError, 2,
         "is not of the form", absent=(SECRET,)),
    Case("secret-in-set-into-a-value", on_base("training.epochs=3", f"training.epochs.token={SECRET}"),
         ConfigError, 2, "'epochs' is a value, not a table", absent=(SECRET,)),
    Case("secret-in-export-assignment", on_base(f'slurm.extra="ALL,WANDB_API_KEY={SECRET}"'),
         ConfigError, 2, "slurm.extra = 'ALL,WANDB_API_KEY=***'", absent=(SECRET,)),
    # -- symlinks never lead out of the store -------------------------------------------------------
    Case("store-meta-is-a-symlink-out", _store_case(_link_meta), None, 0,
         "has an unreadable meta.json", writes="recompute"),
    Case("store-payload-is-a-symlink-out", _store_case(_link_payload), None, 0,
         "has no readable payload", writes="recompute"),
    Case("store-lock-is-a-symlink-out", _store_case(_link_lock), CellsFailed, 1,
         "cannot open the lock file", writes="store"),
    Case("store-kind-folder-is-a-symlink-out", _linked_kind_dir, CellsFailed, 1,
         "leads out of the store", writes="outside"),
    Case("gc-removes-symlinks-as-links", _gc_linked_artifact, None, 0,
         "(a symlink: the link only, its target is untouched)", writes="store"),
]


def test_the_corpus_is_big_and_its_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_bad_input(case: Case, baseline: Baseline, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    reason = case.skip_if()
    if reason:
        pytest.skip(reason)
    context = Context(tmp_path, baseline, monkeypatch)
    args = case.setup(context)
    own_before = snapshot(tmp_path)
    outside_before = snapshot(tmp_path / "outside")
    result = cli(*args)

    assert result.code == case.code, result.err[-3000:]
    if case.error is None:
        assert result.error is None or case.code == 0, result.error
    else:
        assert type(result.error) is case.error, (type(result.error), result.err[-3000:])
    message = result.err + result.out
    assert case.fragment in " ".join(message.split()), message[-3000:]
    assert "Traceback" not in result.err
    assert not context.marker.exists(), "a file ran code while being loaded"
    for text in case.absent:
        assert text not in message, f"{text!r} was shown"
    # nothing outside the store was read through a link or written
    assert snapshot(tmp_path / "outside") == outside_before

    # nothing earlier was modified
    assert snapshot(baseline.out) == baseline.files, "the baseline run was modified"
    copy = tmp_path / "copy"
    if case.writes == "nothing":
        assert snapshot(tmp_path) == own_before, "the failed case wrote files"
    elif case.writes == "run":  # a runtime failure: outcome files, but no store artifact
        assert not entries(tmp_path / "out"), "a failed stage left an artifact"
    elif case.writes == "store":  # every artifact but the broken one is untouched, none added
        before = {k: v for k, v in entries(baseline.out).items()
                  if baseline.original_key() not in k}
        after = {k: v for k, v in entries(copy).items() if baseline.original_key() not in k}
        assert after == before
    elif case.writes == "recompute":  # the broken artifact is recomputed with a warning
        assert "recomputing it" in message
        assert values(copy / "default") == baseline.values
        before = {k: v for k, v in entries(baseline.out).items()
                  if baseline.original_key() not in k}
        after = {k: v for k, v in entries(copy).items() if baseline.original_key() not in k}
        assert after == before
        assert set(entries(copy)) == set(entries(baseline.out))


def test_the_malicious_payload_warning_names_the_file(baseline: Baseline, tmp_path: Path) -> None:
    context = Context(tmp_path, baseline, pytest.MonkeyPatch())
    args = _store_case(_malicious_payload)(context)
    result = cli(*args)
    assert result.code == 0, result.err
    payload = tmp_path / "copy" / "store" / "models" / baseline.original_key() / "payload.pt"
    assert str(payload) in result.err
    assert "GLOBAL posix.system" in result.err and "recomputing it" in result.err
    assert "weights_only` set to `False`" not in result.err  # never the advice to disable it
    assert not context.marker.exists()


def test_decoded_images_of_every_size_and_mode_are_8_bit_and_not_clipped(tmp_path: Path) -> None:
    """Wrong sizes and modes are handled: resized whole, 16-bit and float scaled, alpha dropped."""
    import numpy as np
    from PIL import Image
    from supreme_vision.datasets._folder import decode_images

    paths = []
    for mode, size in (("RGBA", (5, 40)), ("P", (30, 7)), ("L", (8, 8)), ("CMYK", (9, 9)),
                       ("1", (16, 16)), ("LA", (3, 3)), ("RGB", (300, 200))):
        path = tmp_path / f"{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
        Image.new(mode, size).save(path)
        paths.append(path)
    wide = tmp_path / "wide.png"
    Image.fromarray(np.full((6, 9), 32896, dtype=np.uint16)).save(wide)  # mid-grey in 16 bits
    floats = tmp_path / "float.tif"
    Image.fromarray(np.full((6, 9), 0.5, dtype=np.float32)).save(floats)
    images = decode_images([*paths, wide, floats], size=8, channels=3)
    assert images.shape == (len(paths) + 2, 3, 8, 8) and str(images.dtype) == "torch.uint8"
    assert int(images[-2].float().mean().round()) == 128  # not clipped to 255
    assert int(images[-1].float().mean().round()) == 128  # not truncated to 0
    grey = decode_images([*paths, wide], size=8, channels=1)
    assert grey.shape == (len(paths) + 1, 1, 8, 8)


def test_a_folder_of_odd_sizes_and_modes_plans_without_writing(tmp_path: Path) -> None:
    from PIL import Image

    root = image_folder(tmp_path / "faces", FOLDER_CLASSES)
    Image.new("RGBA", (50, 3)).save(root / "cat" / "wide.png")
    Image.new("P", (4, 60)).save(root / "dog" / "tall.gif")
    Image.new("L", (9, 9)).save(root / "emu" / "grey.jpg")
    (root / "emu" / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "emu" / "readme.txt").write_text("ignored")
    result = cli(*run_args(tmp_path / "out", *pins(root), command="plan"))
    assert result.code == 0, result.err
    assert not (tmp_path / "out").exists()


def test_a_malicious_pretrained_weights_file_is_refused(tmp_path: Path) -> None:
    from supreme_vision.models._timm import create_timm

    marker = tmp_path / "PWNED"
    weights = tmp_path / "model.pth"
    weights.write_bytes(torch_bytes({"pos_embed": Evil(marker)}))
    with pytest.raises(ConfigError) as info:
        create_timm("vit_tiny_patch16_224.augreg_in21k_ft_in1k", model="vit", pretrained=True,
                    weights=weights, num_classes=4, img_size=32)
    assert str(weights) in info.value.message and "nothing in it was run" in info.value.message
    assert "weights_only=False" not in str(info.value)
    assert not marker.exists()
