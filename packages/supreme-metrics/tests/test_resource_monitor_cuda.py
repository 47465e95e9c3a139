"""The monitor's CUDA and NVML paths, with torch.cuda and pynvml replaced by fakes."""

from __future__ import annotations

import sys
import time
import types

import pytest
import torch
from supreme.pipeline.resources import ResourceMonitor


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append("sync"))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats",
                        lambda device=None: calls.append("reset"))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: 3_000_000_000)
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda index: types.SimpleNamespace(uuid="1234"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return calls


def fake_nvml(energy_supported: bool) -> types.ModuleType:
    nvml = types.ModuleType("pynvml")
    state = {"energy_mj": 1_000_000.0}

    def energy(handle: object) -> float:
        if not energy_supported:
            raise RuntimeError("not supported")
        state["energy_mj"] += 50_000.0  # +50 J per reading
        return state["energy_mj"]

    def by_uuid(uuid: str) -> str:
        if uuid != "GPU-1234":
            raise RuntimeError("not found")
        return "handle"

    nvml.nvmlInit = lambda: None  # type: ignore[attr-defined]
    nvml.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByUUID = by_uuid  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByIndex = lambda i: "handle"  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetUtilizationRates = (  # type: ignore[attr-defined]
        lambda h: types.SimpleNamespace(gpu=60))
    nvml.nvmlDeviceGetPowerUsage = lambda h: 200_000  # 200 W  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetTotalEnergyConsumption = energy  # type: ignore[attr-defined]
    return nvml


def test_cuda_without_nvml_reports_peak_memory_only(fake_cuda, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    with ResourceMonitor("cuda:0") as monitor:
        pass
    result = monitor.result()
    assert result["peak_gpu_memory_gb"] == 3.0
    assert not {"gpu_util_avg", "gpu_util_peak", "gpu_energy_j"} & set(result)
    assert fake_cuda[:2] == ["sync", "reset"] and fake_cuda[-1] == "sync"


def test_cuda_with_nvml_reports_utilisation_and_the_energy_counter(fake_cuda, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(energy_supported=True))
    with ResourceMonitor("cuda:0", interval=0.02) as monitor:
        time.sleep(0.1)
    result = monitor.result()
    assert result["gpu_util_avg"] == pytest.approx(60.0)
    assert result["gpu_util_peak"] == 60.0
    assert result["gpu_energy_j"] == pytest.approx(50.0)  # two counter readings, 50 J apart


def test_without_an_energy_counter_power_is_integrated(fake_cuda, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(energy_supported=False))
    with ResourceMonitor("cuda:0", interval=0.02) as monitor:
        time.sleep(0.2)
    result = monitor.result()
    # 200 W over the sampled time, which is the whole block
    assert result["gpu_energy_j"] == pytest.approx(200.0 * result["wall_seconds"], rel=0.15)
