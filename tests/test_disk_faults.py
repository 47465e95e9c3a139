"""Full and read-only disks, failing writes, and a last training batch of one sample.

The disk cases run the real command line on a real small tmpfs where this machine lets
us mount one (root on Linux), and with ``os.write`` / ``os.fsync`` made to fail
everywhere else. Each asserts the exit code, the two-line message, that no temporary file
is left, that every stored artifact still loads, and that every earlier file is
byte-identical.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from supreme.errors import ConfigError
from supreme.safeio import WriteFailed
from supreme.store import META, Store

sys.path.insert(0, str(Path(__file__).parent))  # the corpus's harness (--import-mode=importlib)
from test_bad_inputs import Baseline, cli, run_args, snapshot, values
from test_bad_inputs import baseline as baseline

MORE = ('methods=["original","retrain","bi_ascent"]', 'name="more"')


def _mount(where: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` at ``where``; the reason when this machine does not allow it."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return "mounting a tmpfs needs root and mount(8)"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    return None if done.returncode == 0 else f"cannot mount a tmpfs here: {done.stderr.strip()}"


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "mnt"
    reason = _mount(where, "1m")
    if reason:
        pytest.skip(reason)
    try:
        yield where
    finally:
        _umount(where)


def intact(store: Path) -> int:
    count = 0
    for meta in store.glob(f"*/*/{META}"):
        Store(store).load(meta.parent.parent.name, meta.parent.name)
        count += 1
    return count


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


def fill(where: Path, leave: int) -> None:
    """Fill the file system of ``where`` so that ``leave`` bytes stay free."""
    free = shutil.disk_usage(where).free
    (where / "filler").write_bytes(b"\0" * max(0, free - leave))


def test_a_full_tmpfs_fails_cleanly_at_every_write(baseline: Baseline, tmpfs: Path) -> None:
    """Whichever write of a run hits the full disk, the run stops with exit 1 and a message
    naming the file and the bytes needed; nothing partial is left, the store stays valid."""
    failures = 0
    for pages in range(0, 12):
        out = baseline.copy(tmpfs / "out")
        before = snapshot(out)
        fill(tmpfs, pages * 4096)
        result = cli(*run_args(out, *MORE))
        assert result.code in (0, 1), result.err
        assert "Traceback" not in result.err
        if result.code == 1:
            failures += 1
            assert type(result.error) is WriteFailed, result.err
            message = " ".join(result.err.split())
            assert "cannot write " in message and "bytes needed" in message
            assert "no space left on the device" in message
            assert "Fix: Free at least" in message
            # every earlier file is byte-identical (the failed run only added files)
            after = snapshot(out)
            assert {k: v for k, v in after.items() if k in before} == before
        assert not leftovers(out), leftovers(out)
        assert intact(out / "store") >= 4
        shutil.rmtree(out)
        (tmpfs / "filler").unlink()
    assert failures >= 3  # the disk was full at several different writes


def test_a_read_only_store_is_refused_before_compute(baseline: Baseline, tmp_path: Path) -> None:
    where = tmp_path / "ro"
    reason = _mount(where, "1m")
    if reason:
        pytest.skip(reason)
    try:
        out = baseline.copy(where / "out")
        before = snapshot(out)
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        result = cli(*run_args(out, *MORE))
        assert result.code == 2 and type(result.error) is ConfigError, result.err
        assert "is on a read-only file system, so results cannot be saved there" in \
            " ".join(result.err.split())
        assert snapshot(out) == before
    finally:
        _umount(where)


@pytest.mark.parametrize(("code", "words"), [
    (errno.ENOSPC, "no space left on the device"), (errno.EDQUOT, "disk quota exceeded"),
    (errno.EIO, "input/output error"), (errno.EROFS, "the file system is read-only")])
@pytest.mark.parametrize("call", ["write", "fsync"])
def test_a_failing_write_or_fsync_removes_its_temporary_file(
        baseline: Baseline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str,
        code: int, words: str) -> None:
    out = baseline.copy(tmp_path / "copy")
    before = snapshot(out)
    real = getattr(os, call)

    def failing(fd: int, *args: object) -> object:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if target.endswith(".tmp") and "/store/models/" in target:  # M_u's payload
            raise OSError(code, os.strerror(code))
        return real(fd, *args)

    monkeypatch.setattr(os, call, failing)
    result = cli(*run_args(out, *MORE))
    monkeypatch.undo()
    assert result.code == 1 and type(result.error) is WriteFailed, result.err
    message = " ".join(result.err.split())
    assert f"{words}" in message and "payload.pt (" in message and "bytes needed" in message
    assert not leftovers(out)
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k in before} == before
    assert intact(out / "store") == intact(baseline.out / "store")
    # with the disk healthy again, the same command finishes
    assert cli(*run_args(out, *MORE)).code == 0


@pytest.mark.parametrize("batch_size", [63, 47])  # M_o's last batch (64 % 63), M_r's (48 % 47)
def test_a_last_training_batch_of_one_sample_does_not_crash_batchnorm(
        tmp_path: Path, batch_size: int) -> None:
    result = cli(*run_args(tmp_path / "out", 'models=["resnet18"]',
                           f"training.batch_size={batch_size}"))
    assert result.code == 0, result.err
    assert len(values(tmp_path / "out" / "default")) == 2 * 3


def test_the_merged_last_batch_is_the_same_on_every_rank() -> None:
    import torch
    from supreme.contracts import ImageTensors
    from supreme.pipeline.data import BatchTransform, TensorLoader

    data = ImageTensors(torch.zeros(65, 1, 4, 4, dtype=torch.uint8), torch.arange(65) % 2)
    transform = BatchTransform((0.5,), (0.5,), 4, 1)
    one = TensorLoader(data, 32, transform=transform, shuffle=True)
    assert [len(y) for _, y in one] == [32, 33] and len(one) == 2  # 65 = 32 + 33, not + 1

    class Rank:
        def __init__(self, rank: int) -> None:
            self.global_rank, self.world_size, self.device = rank, 2, torch.device("cpu")

    even = ImageTensors(torch.zeros(66, 1, 4, 4, dtype=torch.uint8), torch.arange(66))
    ranks = [TensorLoader(even, 32, transform=transform, fabric=Rank(r),  # type: ignore[arg-type]
                          shuffle=True) for r in (0, 1)]
    sizes = [[len(y) for _, y in loader] for loader in ranks]
    assert sizes[0] == sizes[1] == [16, 17]  # the tail of 2 (one per rank) was merged
    unsorted = TensorLoader(data, 32, transform=transform)  # evaluation: never merged
    assert [len(y) for _, y in unsorted] == [32, 32, 1]


def test_a_tiny_last_training_batch_is_merged_and_a_real_one_is_not() -> None:
    """A last batch under 1/8 of the batch size is merged (a tail of 2 in batches of 64
    left a digits ResNet18 at 65 % training accuracy); the default experiment's digits
    layout (1,442 = 22 x 64 + 34) and CIFAR's (50,000 = 390 x 128 + 80) are unchanged."""
    import torch
    from supreme.contracts import ImageTensors
    from supreme.pipeline.data import BatchTransform, TensorLoader

    transform = BatchTransform((0.5,), (0.5,), 4, 1)

    def sizes(n: int, batch: int, shuffle: bool = True) -> list[int]:
        data = ImageTensors(torch.zeros(n, 1, 4, 4, dtype=torch.uint8), torch.arange(n) % 2)
        loader = TensorLoader(data, batch, transform=transform, shuffle=shuffle)
        got = [len(y) for _, y in loader]
        assert len(got) == len(loader)
        return got

    assert sizes(1154, 64) == [64] * 17 + [66]      # digits minus a 20 % validation split
    assert sizes(1159, 64) == [64] * 17 + [71]      # 7 < 64 / 8: merged
    assert sizes(1160, 64) == [64] * 18 + [8]       # 8 samples: kept
    assert sizes(1442, 64) == [64] * 22 + [34]      # the default experiment: unchanged
    assert sizes(50_000, 128)[-1] == 80 and sizes(50_000, 256)[-1] == 80
    assert sizes(1154, 64, shuffle=False)[-1] == 2  # evaluation is never merged
