"""The one cell ordering every launcher uses.

Cells that need the same M_o (dataset, model, training seed) share it through the store:
the first to run trains it, the others wait for its lock and reuse it. So that parallel
workers or array tasks do not all wait for the same M_o at the start, work is handed out
round-robin over the M_o it needs: ``--workers`` takes one cell at a time
(:func:`queue_order`), a SLURM array task a chunk of cells that share their M_o
(:func:`chunk_cells`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _by_original(cells: Sequence[Any], indices: Sequence[int]) -> list[list[int]]:
    """``indices`` grouped by the M_o their cells need, groups in first-seen order."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index in indices:
        cell = cells[index]
        groups.setdefault((cell.dataset, cell.model, cell.train_seed), []).append(index)
    return list(groups.values())


def _round_robin(queues: list[list[Any]]) -> list[Any]:
    """One item from each queue in turn until all are empty."""
    out: list[Any] = []
    queues = [list(q) for q in queues]
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out


def chunk_cells(cells: Sequence[Any], todo: Sequence[int], per_task: int) -> list[list[int]]:
    """Chunks of ``per_task`` cell indices of ``todo``: the cells of a chunk share their
    M_o, and full chunks alternate between M_o; the cells left over (fewer than
    ``per_task`` for some M_o) fill the last chunks."""
    per_group = [[members[i:i + per_task] for i in range(0, len(members), per_task)]
                 for members in _by_original(cells, todo)]
    ordered = _round_robin([[c for c in chunks if len(c) == per_task] for chunks in per_group])
    rest = [i for chunks in per_group for c in chunks if len(c) < per_task for i in c]
    return ordered + [rest[i:i + per_task] for i in range(0, len(rest), per_task)]


def queue_order(cells: Sequence[Any], indices: Sequence[int] | None = None) -> list[int]:
    """Cell indices (all, or ``indices``), round-robin over the M_o they need: the order
    of one-cell chunks."""
    todo = range(len(cells)) if indices is None else indices
    return [chunk[0] for chunk in chunk_cells(cells, list(todo), 1)]
