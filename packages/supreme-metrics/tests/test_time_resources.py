"""time and resources: what they read from the context, and the monitor behind them."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from supreme.pipeline.resources import ResourceMonitor, combine_ranks, untimed
from supreme_metrics.resources import Resources
from supreme_metrics.timing import Time

GPU_KEYS = {"peak_gpu_memory_gb", "gpu_util_avg", "gpu_util_peak", "gpu_energy_j"}


def context(logit_context, **extra):
    return logit_context({("unlearned", "test"): (torch.zeros(1, 2), torch.zeros(1))}, **extra)


def test_time_reports_unlearning_seconds_and_speedup(logit_context) -> None:
    ctx = context(logit_context, timings={"unlearn_seconds": 2.0, "retrain_seconds": 10.0})
    assert Time().compute(ctx) == {"unlearn_seconds": 2.0, "speedup": 5.0}


def test_time_without_retrain_time_or_with_zero_time_has_no_speedup(logit_context) -> None:
    assert Time().compute(context(logit_context, timings={"unlearn_seconds": 2.0})) == {
        "unlearn_seconds": 2.0}
    zero = context(logit_context, timings={"unlearn_seconds": 0.0, "retrain_seconds": 3.0})
    assert Time().compute(zero) == {"unlearn_seconds": 0.0}


def test_time_excludes_in_loop_evaluation() -> None:
    with ResourceMonitor() as monitor:
        time.sleep(0.2)  # unlearning work
        with untimed():  # an in-loop evaluation pass
            time.sleep(0.4)
            with untimed():  # nested blocks count once
                time.sleep(0.1)
    result = monitor.result()
    assert result["seconds"] == pytest.approx(0.2, abs=0.08)
    assert result["excluded_seconds"] == pytest.approx(0.5, abs=0.08)
    assert result["wall_seconds"] == pytest.approx(result["seconds"] + result["excluded_seconds"])


def test_untimed_outside_a_monitor_changes_nothing() -> None:
    with untimed():
        pass
    with ResourceMonitor() as monitor:
        pass
    assert monitor.result()["excluded_seconds"] == 0.0


def test_resources_reports_the_monitor_measurements_without_durations(logit_context) -> None:
    with ResourceMonitor() as monitor:
        time.sleep(0.05)
    ctx = context(logit_context, resources=monitor.result())
    result = Resources().compute(ctx)
    assert set(result) == {"peak_rss_gb", "peak_rss_increase_gb", "cpu_util_avg",
                           "cpu_util_peak"}  # no GPU keys on a CPU, not even zeros
    assert result["peak_rss_gb"] > 0.01


def test_peak_rss_rises_by_the_size_of_a_big_array() -> None:
    size_gb = 0.3
    with ResourceMonitor(interval=0.02) as monitor:
        block = np.ones(int(size_gb * 1e9 / 8))  # touched pages: resident
        time.sleep(0.15)
        del block
    result = monitor.result()
    assert result["peak_rss_increase_gb"] == pytest.approx(size_gb, abs=0.06)
    assert not GPU_KEYS & set(result)


def test_peak_rss_counts_child_processes() -> None:
    code = "import time; b = bytearray(250_000_000); time.sleep(1.2)"  # > the 0.5 s re-listing
    with ResourceMonitor(interval=0.05) as monitor:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert monitor.result()["peak_rss_increase_gb"] >= 0.24


def test_cpu_utilisation_matches_the_process_cpu_time() -> None:
    import psutil

    all_cpus = psutil.cpu_count(logical=True) or 1
    with ResourceMonitor(interval=0.05) as busy:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        end = wall_start + 0.6
        while time.perf_counter() < end:
            pass
        cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    with ResourceMonitor(interval=0.05) as idle:
        time.sleep(0.3)
    # the busy loop's share of all CPUs (less than one CPU when the machine is contended)
    expected = 100.0 * cpu / (wall * all_cpus)
    assert busy.result()["cpu_util_avg"] == pytest.approx(expected, abs=0.15 * 100 / all_cpus)
    assert busy.result()["cpu_util_peak"] >= busy.result()["cpu_util_avg"]
    assert idle.result()["cpu_util_avg"] < 0.1 * 100 / all_cpus


def test_the_sampling_thread_stops_on_an_exception() -> None:
    before = {t.name for t in threading.enumerate()}
    monitor = ResourceMonitor()
    with pytest.raises(RuntimeError, match="boom"), monitor:
        raise RuntimeError("boom")
    assert "supreme-resources" not in {t.name for t in threading.enumerate()} - before
    assert monitor.result()["wall_seconds"] >= 0.0


def test_result_before_exit_is_an_error() -> None:
    with ResourceMonitor() as monitor, pytest.raises(RuntimeError, match="after the with-block"):
        monitor.result()


def test_combining_ranks() -> None:
    ranks = [{"seconds": 2.0, "peak_rss_gb": 1.0, "cpu_util_avg": 20.0, "gpu_energy_j": 5.0},
             {"seconds": 3.0, "peak_rss_gb": 1.5, "cpu_util_avg": 40.0, "gpu_energy_j": 7.0}]
    assert combine_ranks(ranks) == {"seconds": 3.0, "peak_rss_gb": 1.5, "peak_rss_gb_total": 2.5,
                                    "cpu_util_avg": 30.0, "gpu_energy_j": 12.0}
    assert combine_ranks(ranks[:1]) == ranks[0]


def test_resources_leaves_out_failed_measurements(logit_context) -> None:
    ctx = context(logit_context, resources={"peak_rss_gb": 2.0, "gpu_energy_j": float("nan"),
                                            "seconds": 4.0})
    assert Resources().compute(ctx) == {"peak_rss_gb": 2.0}
