"""Reference-model gates: is M_o trained, and is M_r a credible gold standard?

Every number SUPREME reports is a distance to the retrained model M_r, so each cell checks
its two reference models before its results are trusted (docs/validity.md):

============================  ==============================================================
``original_train``            M_o's accuracy on its training data D ≥ the dataset's floor
``original_test``             M_o's accuracy on the test set D' ≥ the dataset's floor
``retrain_retain_test``       M_r's accuracy on D'_r ≥ M_o's on D'_r − ``retain_tolerance``
``retrain_forget_test``       full-class only: M_r's accuracy on D'_f ≤ ``forget_max``
============================  ==============================================================

Floors come from ``DatasetSpec.reference_floors`` (``{"train": %, "test": %}``, optionally
per model family: ``{"resnet": {"test": 94.0}}``; a plugin declares its own); a dataset
that declares none gets a floor of three times chance (at most 50 %), which catches an
untrained or diverged M_o without judging a recipe.
Sub-class forgetting has no forget-test gate: the coarse class is still learned from its
other sub-classes, so a correct M_r classifies many forgotten images correctly.

The accuracies are computed once per (M_o, M_r, split) from the evaluation's cached
forward passes and kept in the store; the thresholds are applied at run time, so changing
them recomputes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: what each check measures, for messages and reports
DESCRIPTIONS = {
    "original_train": "M_o accuracy on its training data",
    "original_test": "M_o accuracy on the test set",
    "retrain_retain_test": "M_r accuracy on the retain test set",
    "retrain_forget_test": "M_r accuracy on the forget test set",
}


def default_floor(num_classes: int) -> float:
    """Three times chance, at most 50 % (used when a dataset declares no floor)."""
    return min(50.0, 300.0 / max(1, num_classes))


def floors_for(spec: Any, family: str) -> dict[str, float]:
    """The floors a dataset declares for a model family: its top-level ``train``/``test``
    entries, overridden by those under the family's name
    (``{"test": 90.0, "resnet": {"test": 94.0}}``)."""
    declared = dict(getattr(spec, "reference_floors", {}) or {})
    floors = {k: float(v) for k, v in declared.items() if k in ("train", "test")}
    family_floors = declared.get(family)
    if isinstance(family_floors, dict):
        floors |= {k: float(v) for k, v in family_floors.items() if k in ("train", "test")}
    return floors


def verdict(accuracies: Mapping[str, float | None], *, scenario: str, floors: Mapping[str, float],
            num_classes: int, retain_tolerance: float, forget_max: float) -> dict[str, Any]:
    """Apply the gates to a cell's reference accuracies (percent).

    ``accuracies`` holds ``original_train``, ``original_test``, ``original_retain_test`` and,
    when M_r exists, ``retrain_retain_test`` and ``retrain_forget_test``. Returns
    ``{"passed": bool, "failed": [names], "checks": [{name, what, value, op, threshold,
    passed}, ...]}``.
    """
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, op: str, threshold: float) -> None:
        if value is None:
            return
        ok = value >= threshold if op == ">=" else value <= threshold
        checks.append({"name": name, "what": DESCRIPTIONS[name], "value": round(value, 4),
                       "op": op, "threshold": round(threshold, 4), "passed": ok})

    fallback = default_floor(num_classes)
    check("original_train", accuracies.get("original_train"), ">=",
          float(floors.get("train", fallback)))
    check("original_test", accuracies.get("original_test"), ">=",
          float(floors.get("test", fallback)))
    original_retain = accuracies.get("original_retain_test")
    if original_retain is not None:
        check("retrain_retain_test", accuracies.get("retrain_retain_test"), ">=",
              original_retain - retain_tolerance)
    if scenario == "fullclass":
        check("retrain_forget_test", accuracies.get("retrain_forget_test"), "<=", forget_max)
    failed = [c["name"] for c in checks if not c["passed"]]
    return {"passed": not failed, "failed": failed, "checks": checks}


def describe_failures(result: Mapping[str, Any]) -> str:
    """One line per failed check: ``M_r accuracy on the retain test set 61.13% < 88.4%``."""
    parts = []
    for c in result["checks"]:
        if not c["passed"]:
            op = "<" if c["op"] == ">=" else ">"
            parts.append(f"{c['what']} {c['value']:.2f}% {op} {c['threshold']:.2f}%")
    return "; ".join(parts)


def record_flag(result: Mapping[str, Any]) -> dict[str, Any]:
    """What every record of the cell carries: ``{"passed": bool, "failed": [names]}``."""
    return {"passed": bool(result["passed"]), "failed": list(result["failed"])}
