"""Two CPU processes (gloo): the gathered forward pass and the resource record of every rank."""

from __future__ import annotations

import pytest
import torch
from supreme.testing import TinyNet, make_eval_context, synthetic_images


def one_sample_logits(fabric: object = None) -> list[list[float]]:
    torch.manual_seed(0)
    data = synthetic_images(4, per_class=2, seed=0).subset(torch.arange(1))
    ctx = make_eval_context({"unlearned": TinyNet(4)}, {"forget_test": data}, fabric=fabric)
    return ctx.outputs("unlearned", "forget_test").logits.tolist()


@pytest.mark.slow
def test_a_one_sample_split_on_two_processes_equals_one_process() -> None:
    from lightning.fabric import Fabric

    fabric = Fabric(accelerator="cpu", devices=2, strategy="ddp_spawn")
    two = fabric.launch(one_sample_logits)
    assert torch.allclose(torch.tensor(two), torch.tensor(one_sample_logits()), atol=1e-6)


def rank_resources(fabric: object) -> dict[str, float]:
    from supreme.pipeline.resources import gather_ranks

    rank = fabric.global_rank  # type: ignore[attr-defined]
    return gather_ranks(fabric, {"seconds": 1.0 + rank, "peak_rss_gb": 2.0 + rank,  # type: ignore[arg-type]
                                 "cpu_util_avg": 10.0 * (rank + 1)})


@pytest.mark.slow
def test_gather_ranks_combines_every_process_measurements() -> None:
    from lightning.fabric import Fabric

    fabric = Fabric(accelerator="cpu", devices=2, strategy="ddp_spawn")
    assert fabric.launch(rank_resources) == {"seconds": 2.0, "peak_rss_gb": 3.0,
                                             "peak_rss_gb_total": 5.0, "cpu_util_avg": 15.0}
