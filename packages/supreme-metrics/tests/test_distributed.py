"""Two CPU processes (gloo): the gathered forward pass and the resource record of every rank."""

from __future__ import annotations

import pytest
import torch
from metrics_workers import one_sample_logits, rank_resources
from supreme.testing import launch_processes


@pytest.mark.slow
def test_a_one_sample_split_on_two_processes_equals_one_process() -> None:


    two = launch_processes(one_sample_logits)
    assert torch.allclose(torch.tensor(two), torch.tensor(one_sample_logits()), atol=1e-6)


@pytest.mark.slow
def test_gather_ranks_combines_every_process_measurements() -> None:


    assert launch_processes(rank_resources) == {"seconds": 2.0, "peak_rss_gb": 3.0,
                                             "peak_rss_gb_total": 5.0, "cpu_util_avg": 15.0}
