"""``--recompute STAGE[,STAGE]``: redo chosen stages and what depends on them.

Selectors (comma-separated, repeatable):

=================  ===========================================================
``all``            every stage (datasets, M_o, splits, M_r, unlearning, caches,
                   evaluations, shadow models)
``dataset``        decoding every dataset into the tensor cache
``models``         training M_o (``train`` is the same)
``split``          building the forget/retain splits
``retrain``        retraining M_r
``unlearn``        every method's unlearning (and the caches it computes)
``unlearn:NAME``   one method's unlearning (and the caches it computes)
``evaluate``       every evaluation (and the reference-model accuracies)
``evaluate:NAME``  one metric's evaluations
``shadows``        the shadow models of metrics that declare them (U-LiRA)
=================  ===========================================================

A selected stage whose artifact was written before the run started is computed again; a
stage that reads an artifact written after its own is computed again too (``make``'s rule),
so recomputing M_o redoes every unlearning and evaluation of it. The old artifact stays in
place, valid, until the new one has been written (under the artifact's lock). Stages
recomputed by one process are reused by the others of the same run (workers, SLURM tasks
and cells sharing an M_o), because the rule compares write times with the run's start.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from supreme.errors import ConfigError
from supreme.stage import Stage, StageKind

#: selector -> the kinds of stage it selects (``all``: every kind)
BASIC: dict[str, tuple[StageKind, ...]] = {
    "all": tuple(StageKind),
    "dataset": (StageKind.DATASET,),
    "models": (StageKind.TRAIN,),
    "train": (StageKind.TRAIN,),
    "split": (StageKind.SPLIT,),
    "retrain": (StageKind.RETRAIN,),
    "unlearn": (StageKind.UNLEARN,),
    "evaluate": (StageKind.EVALUATE, StageKind.CHECK),
    "shadows": (StageKind.SHADOW,),
}


@dataclass(frozen=True)
class Recompute:
    """Which stages to compute again, and when the run started (nanoseconds since the
    epoch): artifacts written since then are this run's own and are reused."""

    selectors: tuple[str, ...] = ()
    since_ns: int = 0

    def __bool__(self) -> bool:
        return bool(self.selectors)

    def selects(self, stage: Stage | str) -> bool:
        """Whether ``stage`` (a :class:`~supreme.stage.Stage`, or its name such as
        ``"evaluate finetune:mia"``) is chosen."""
        if isinstance(stage, str):
            stage = Stage.parse(stage)
        for selector in self.selectors:
            kind, _, name = selector.partition(":")
            if not name:
                chosen = stage.kind in BASIC[kind]
            elif kind == "unlearn":
                chosen = stage.kind is StageKind.UNLEARN and stage.name == name
            else:  # evaluate:METRIC
                chosen = stage.kind is StageKind.EVALUATE and stage.metric == name
            if chosen:
                return True
        return False

    def as_json(self) -> dict[str, object]:
        return {"selectors": list(self.selectors), "since_ns": self.since_ns}

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> Recompute:
        if not data:
            return cls()
        selectors = data.get("selectors") or []
        since = data.get("since_ns") or 0
        assert isinstance(selectors, list) and isinstance(since, int)
        return cls(tuple(str(s) for s in selectors), since)


def parse(values: Iterable[str] | str | Recompute | None, *, methods: Sequence[str] = (),
          metrics: Sequence[str] = (), since_ns: int | None = None) -> Recompute:
    """Parse ``--recompute`` values; an unknown selector or a name the experiment does not
    use is a :class:`ConfigError` (exit 2). A :class:`Recompute` is returned as it is."""
    if isinstance(values, Recompute):
        return values
    if values is None:
        return Recompute()
    if isinstance(values, str):
        values = [values]
    selectors: list[str] = []
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            kind, sep, name = part.partition(":")
            if kind not in BASIC:
                raise ConfigError(
                    f"--recompute {part!r}: unknown stage {kind!r}",
                    "Use all, dataset, models, split, retrain, unlearn[:METHOD], "
                    "evaluate[:METRIC] or shadows, comma-separated.",
                )
            if sep:
                known = {"unlearn": methods, "evaluate": metrics}.get(kind)
                if known is None:
                    raise ConfigError(f"--recompute {part!r}: {kind} takes no name",
                                      "Only unlearn:METHOD and evaluate:METRIC take a name.")
                if name not in known:
                    what = "method" if kind == "unlearn" else "metric"
                    raise ConfigError(
                        f"--recompute {part!r}: the experiment has no {what} {name!r}",
                        f"Its {what}s: {', '.join(known) or 'none'}.",
                    )
            # the reference rows are stages of their own
            part = {"unlearn:retrain": "retrain", "unlearn:original": "models"}.get(part, part)
            if part not in selectors:
                selectors.append(part)
    if not selectors:
        return Recompute()
    return Recompute(tuple(selectors), time.time_ns() if since_ns is None else since_ns)
