"""Functions run inside spawned gloo processes.

They live in a plain module on ``sys.path`` (see conftest.py) because a spawned process
re-imports them by module name, which a test module loaded by pytest's importlib mode
does not have.
"""

from __future__ import annotations

import torch
from supreme.testing import TinyNet, make_eval_context, synthetic_images


def one_sample_logits(fabric: object = None) -> list[list[float]]:
    torch.manual_seed(0)
    data = synthetic_images(4, per_class=2, seed=0).subset(torch.arange(1))
    ctx = make_eval_context({"unlearned": TinyNet(4)}, {"forget_test": data}, fabric=fabric)
    return ctx.outputs("unlearned", "forget_test").logits.tolist()


def rank_resources(fabric: object) -> dict[str, float]:
    from supreme.pipeline.resources import gather_ranks

    rank = fabric.global_rank  # type: ignore[attr-defined]
    return gather_ranks(fabric, {"seconds": 1.0 + rank, "peak_rss_gb": 2.0 + rank,  # type: ignore[arg-type]
                                 "cpu_util_avg": 10.0 * (rank + 1)})
