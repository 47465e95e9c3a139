"""Several workers per device: slot assignment and the environment each
worker gets (CUDA faked: the logic needs no GPU)."""

from __future__ import annotations

import pytest
from supreme.config import ExperimentConfig
from supreme.launch.packing import MAX_PER_DEVICE, device_slots, slot_of

GiB = 1 << 30


def test_slots_go_round_the_device_groups_before_doubling_up() -> None:
    assert device_slots(2, 1, 3) == [(0,), (1,), (0,), (1,), (0,), (1,)]
    assert device_slots(4, 2, 2) == [(0, 1), (2, 3), (0, 1), (2, 3)]
    assert device_slots(3, 2, 1) == [(0, 1)]  # the odd device is left out, never split


def test_each_device_gets_exactly_workers_per_device_workers() -> None:
    slots = device_slots(4, 1, 3)
    taken = [slot_of(w, slots) for w in range(1, 13)]
    assert sorted(taken) == [(d,) for d in range(4) for _ in range(3)]
    assert slot_of(13, slots) == slot_of(1, slots)  # beyond the slots: wrap around


@pytest.mark.parametrize(("args", "message"), [
    ((0, 1, 1), "no devices to place workers on"),
    ((2, 3, 1), "a cell needs 3 device(s) but 2 are visible"),
    ((2, 1, 0), f"workers per device must be between 1 and {MAX_PER_DEVICE}"),
    ((2, 1, MAX_PER_DEVICE + 1), f"workers per device must be between 1 and {MAX_PER_DEVICE}"),
])
def test_impossible_layouts_are_refused(args: tuple[int, int, int], message: str) -> None:
    with pytest.raises(ValueError) as info:
        device_slots(*args)
    assert str(info.value) == message


class FakeCuda:
    def __init__(self, count: int) -> None:
        self.count = count

    def is_available(self) -> bool:
        return True

    def device_count(self) -> int:
        return self.count


def test_workers_share_devices_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from supreme.engine import resolve_workers
    from supreme.launch.workers import device_env

    monkeypatch.setattr(torch, "cuda", FakeCuda(2))
    config = ExperimentConfig.model_validate(
        {"fabric": {"accelerator": "cuda"}, "launch": {"workers_per_device": 3}})
    assert resolve_workers(config, "auto") == 6
    visible = [device_env(config, w, 6)["CUDA_VISIBLE_DEVICES"] for w in range(1, 7)]
    assert visible == ["0", "1", "0", "1", "0", "1"]
    one = ExperimentConfig.model_validate({"fabric": {"accelerator": "cuda"}})
    assert resolve_workers(one, "auto") == 2
    assert [device_env(one, w, 2)["CUDA_VISIBLE_DEVICES"] for w in (1, 2)] == ["0", "1"]


@pytest.mark.parametrize("value", [0, 17])
def test_workers_per_device_is_bounded(value: int) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="workers_per_device"):
        ExperimentConfig.model_validate({"launch": {"workers_per_device": value}})
