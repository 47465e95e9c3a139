"""The contracts every plugin implements or receives."""

from supreme.contracts.base import Component, ComponentConfig, Provenance
from supreme.contracts.data import SCENARIOS, DatasetSpec, ImageTensors, LazyImages
from supreme.contracts.evaluation import SPLITS, EvalContext, Outputs, ShadowOutputs
from supreme.contracts.method import ORIGINAL, RETRAIN, Reference, UnlearningMethod
from supreme.contracts.metric import NEEDS, GridMetric, Metric
from supreme.contracts.model import IMAGENET_MEAN, IMAGENET_STD, Augment, ModelSpec, Recipe
from supreme.contracts.records import Cell, Failure, Record, StageEvent
from supreme.contracts.search import Search
from supreme.contracts.unlearn_data import Batches, CellFacts, DataServices, UnlearnData

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NEEDS",
    "ORIGINAL",
    "RETRAIN",
    "SCENARIOS",
    "SPLITS",
    "Augment",
    "Batches",
    "Cell",
    "CellFacts",
    "Component",
    "ComponentConfig",
    "DataServices",
    "DatasetSpec",
    "EvalContext",
    "Failure",
    "GridMetric",
    "ImageTensors",
    "LazyImages",
    "Metric",
    "ModelSpec",
    "Outputs",
    "Provenance",
    "Recipe",
    "Record",
    "Reference",
    "Search",
    "ShadowOutputs",
    "StageEvent",
    "UnlearnData",
    "UnlearningMethod",
]
