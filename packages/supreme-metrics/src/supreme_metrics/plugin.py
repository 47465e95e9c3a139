"""The ``supreme`` entry point of supreme-metrics: registers every metric.

Imports no torch or scikit-learn (``supreme list`` loads every plugin); each metric
imports them inside ``compute``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.hookspecs import hookimpl

from supreme_metrics.accuracy import Accuracy
from supreme_metrics.activation_distance import ActivationDistance
from supreme_metrics.completeness import Completeness
from supreme_metrics.forget_quality import ForgetQuality
from supreme_metrics.js_divergence import JSDivergence
from supreme_metrics.layerwise_distance import LayerwiseDistance
from supreme_metrics.loss import Loss
from supreme_metrics.mia import MIA
from supreme_metrics.relearn_time import RelearnTime
from supreme_metrics.resources import Resources
from supreme_metrics.timing import Time
from supreme_metrics.ulira import ULiRA
from supreme_metrics.zrf import ZRF

if TYPE_CHECKING:
    from supreme.contracts import Metric

METRICS: list[type[Metric]] = [
    Accuracy,
    Loss,
    JSDivergence,
    ActivationDistance,
    Completeness,
    LayerwiseDistance,
    ZRF,
    MIA,
    RelearnTime,
    ForgetQuality,
    ULiRA,
    Time,
    Resources,
]


@hookimpl
def supreme_register_metrics() -> list[type[Metric]]:
    return list(METRICS)
