"""What a run tells its observers: cells, stage events, result records and failures.

These are the typed values the observer hooks receive (``supreme_stage_start``,
``supreme_stage_end``, ``supreme_cell_end``), that the experiment loggers and reports read,
and that ``results.jsonl`` and the cell outcome files hold (records and failures as JSON
objects with exactly these keys).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, TypedDict

from typing_extensions import NotRequired


@dataclass(frozen=True)
class Cell:
    """One cell of the grid: a dataset, model, scenario, forget target and seed triple."""

    dataset: str
    model: str
    scenario: str
    target: str
    train_seed: int
    unlearn_seed: int
    eval_seed: int

    def label(self) -> str:
        return (f"{self.dataset}/{self.model}/{self.scenario}:{self.target} "
                f"s_t={self.train_seed} s_u={self.unlearn_seed} s_e={self.eval_seed}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StageEvent:
    """One stage of one cell, as it starts (``reused`` is ``None``) or as it ends.

    ``stage`` is the stage's name (``train``, ``unlearn finetune``,
    ``evaluate finetune:accuracy``; :class:`supreme.stage.Stage` parses it), ``cell`` the
    cell's label (or the dataset / M_o it belongs to), ``kind`` the store folder of its
    artifact and ``key`` the artifact's store key. ``worker`` is the ``--workers`` process
    that ran it (``None`` in a single process).
    """

    stage: str
    cell: str
    reused: bool | None
    seconds: float
    key: str
    worker: int | None = None
    kind: str = ""

    @property
    def ended(self) -> bool:
        return self.reused is not None

    def line(self) -> str:
        """The line ``supreme run`` prints for the stage."""
        if self.reused is None:
            verb = "started"
        else:
            verb = "reused" if self.reused else f"computed in {self.seconds:.1f} s"
        who = f"[w{self.worker}] " if self.worker is not None else ""
        return f"{who}{self.stage:<22} {self.cell}  {verb}  [{self.key[:10]}]"


class CellFields(TypedDict):
    """What names a cell in a :class:`Record` or :class:`Failure`: the experiment's name,
    then the cell's dataset, model, scenario, target and seeds (:meth:`Cell.as_dict`)."""

    experiment: str
    dataset: str
    model: str
    scenario: str
    target: str
    train_seed: int
    unlearn_seed: int
    eval_seed: int


class Record(CellFields):
    """One result: metric ``metric``'s value ``key`` for the row ``method`` of a cell.

    ``value`` is ``None`` only for a value the metric declared non-finite (then
    ``non_finite`` says ``"nan"``, ``"inf"`` or ``"-inf"``); ``gates`` flags the cell's
    reference-model checks; ``detail`` (present and true only then) marks a key the metric
    declared a detail (:attr:`supreme.contracts.Metric.detail_keys`); ``artifact`` is the
    evaluated model's store key.
    """

    method: str
    metric: str
    key: str
    value: float | None
    artifact: str
    provenance: dict[str, dict[str, str]]
    non_finite: NotRequired[Literal["nan", "inf", "-inf"]]
    detail: NotRequired[bool]
    gates: NotRequired[dict[str, Any]]


class Failure(CellFields):
    """One failed stage of a cell: which row and metric (``None`` for a stage of the whole
    cell), the stage's name, the exception type and its message (secrets masked)."""

    method: str | None
    metric: str | None
    stage: str
    error_type: str
    error: str
