"""Stages as values: what a stage of a cell computes, not a string to parse back.

Every artifact a cell needs is computed by one stage: decoding a dataset, training M_o,
building the split, retraining M_r, unlearning with one method (and the caches it fills),
evaluating one row with one metric, the reference models' accuracies for the gates, and
the shadow models of a metric that declares them (U-LiRA).
:class:`Stage` names one; ``str(stage)`` is the name shown in stage lines, failure records,
hooks and logs (``"evaluate finetune:accuracy"``), and :meth:`Stage.parse` reads it back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class StageKind(str, enum.Enum):
    DATASET = "dataset"
    TRAIN = "train"  # M_o
    SPLIT = "split"
    RETRAIN = "retrain"  # M_r
    UNLEARN = "unlearn"
    CACHE = "cache"  # an entry a method computes through UnlearnData.cache
    EVALUATE = "evaluate"
    CHECK = "check"  # the reference models' accuracies (the gates)
    #: a shadow model of a metric that declares ``shadows`` (U-LiRA): ``M_o#k`` (shadow k
    #: trained on its half of the data), ``M_r#k`` (retrained without its forget set) or
    #: ``METHOD#k`` (the method applied to shadow k)
    SHADOW = "shadow"


#: the name of each kind that takes no name or metric
_FIXED = {StageKind.DATASET: "dataset", StageKind.TRAIN: "train M_o", StageKind.SPLIT: "split",
          StageKind.RETRAIN: "retrain M_r", StageKind.CHECK: "check references"}


@dataclass(frozen=True)
class Stage:
    """One kind of work of a cell. ``name``: the method (``UNLEARN``), the evaluated row
    (``EVALUATE``: a method, ``original`` or ``retrain``), the cache entry (``CACHE``) or the
    shadow model (``SHADOW``: ``M_o#3``, ``M_r#3``, ``finetune#3``);
    ``metric``: the metric (``EVALUATE``)."""

    kind: StageKind
    name: str | None = None
    metric: str | None = None

    def __post_init__(self) -> None:
        needs_name = self.kind in (StageKind.UNLEARN, StageKind.CACHE, StageKind.EVALUATE,
                                  StageKind.SHADOW)
        if needs_name != (self.name is not None) or \
                (self.kind is StageKind.EVALUATE) != (self.metric is not None):
            raise ValueError(f"stage {self.kind.value}: name={self.name!r}, metric={self.metric!r}")

    def __str__(self) -> str:
        if self.kind is StageKind.EVALUATE:
            return f"evaluate {self.name}:{self.metric}"
        if self.kind in (StageKind.UNLEARN, StageKind.CACHE, StageKind.SHADOW):
            return f"{self.kind.value} {self.name}"
        return _FIXED[self.kind]

    @classmethod
    def parse(cls, text: str) -> Stage:
        """The stage named ``text`` (``str(stage)``); ``ValueError`` for any other text."""
        for kind, name in _FIXED.items():
            if text == name:
                return cls(kind)
        word, _, rest = text.partition(" ")
        if word == "evaluate" and ":" in rest:
            row, _, metric = rest.rpartition(":")
            return cls(StageKind.EVALUATE, row, metric)
        if word in ("unlearn", "cache", "shadow") and rest:
            return cls(StageKind(word), rest)
        raise ValueError(f"not a stage name: {text!r}")

