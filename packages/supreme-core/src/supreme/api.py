"""The declared plugin API: what a plugin may use from the core besides :mod:`supreme.contracts`.

Stability promise (docs/plugins.md): every name in ``__all__`` keeps its signature and
meaning within a minor version of supreme-core; a change is listed in the CHANGELOG under
"API changes" and bumps the minor version. Anything else in the core (``supreme.pipeline``,
``supreme.progress``, modules or names starting with an underscore) is internal and may
change in any release; the built-in plugins import nothing else (a test checks).

Importing this module does not import torch; each function imports it when called.

* :func:`unwrap`: the plain ``nn.Module`` behind Fabric's and DDP's wrappers.
* :func:`track`: a progress bar for a known number of steps (rank 0 only, off in logs).
* :func:`untimed`: a block whose time does not count towards the method's T_u.
* :data:`TIME_KEYS`: the keys of the timing record read by the ``time`` metric.
* :func:`rank_share`: this rank's share of one global batch of indices (the rule
  ``UnlearnData.loader`` uses), for methods that build their own batches.
* Loaders over any split or a mix of splits, seeded explicitly or from the method's
  generator, rank-local shards and batch preparation are methods of
  :class:`~supreme.contracts.UnlearnData`: ``loader``, ``local_loader``, ``rank_shard``,
  ``prepare``, ``sum_over_ranks``; so are the process's ``device``, ``rank`` and
  ``world_size``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from supreme.pipeline.resources import TIME_KEYS as TIME_KEYS

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["TIME_KEYS", "rank_share", "track", "untimed", "unwrap"]


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module behind Fabric's (and DDP's) wrappers; ``model`` itself if unwrapped."""
    from supreme.pipeline.train import unwrap as plain

    return plain(model)


@contextlib.contextmanager
def track(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A progress bar of ``total`` steps: ``with track(n, "name") as advance: advance(1)``.

    Shown on rank 0 on a terminal only; a no-op elsewhere (logs, workers, other ranks).
    """
    from supreme.progress import track as bar

    with bar(total, description) as advance:
        yield advance


@contextlib.contextmanager
def untimed() -> Iterator[None]:
    """Time spent inside does not count towards the method's measured time T_u (wrap any
    evaluation a method does for its own bookkeeping). Nested blocks count once."""
    from supreme.pipeline.resources import untimed as block

    with block():
        yield


def rank_share(index: torch.Tensor, order: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's share of one global batch ``index`` drawn from the permutation ``order``.

    The batch is padded by wrapping to the start of ``order`` until its size divides by
    ``world``, then rank ``r`` takes every ``world``-th index from ``r``: every rank takes
    the same number of samples and the global batch is kept whole. ``world = 1`` returns
    ``index`` unchanged.
    """
    import torch

    if world <= 1:
        return index
    if len(index) % world:
        index = torch.cat([index, order[: world - len(index) % world]])
    return index[rank::world]
