"""The example plugin: discovered through its entry point, conformant, and does what it says."""

from __future__ import annotations

import copy

import torch
from supreme import registry
from supreme.testing import cpu_fabric, tiny_transform
from supreme.testing.methods import check_method, tiny_original, tiny_unlearn_data
from supreme_hello import HelloForget


def test_the_installed_wheel_is_found_through_its_entry_point() -> None:
    registry.reset()
    entry = registry.default().entry("methods", "hello_forget")
    assert entry.cls is HelloForget
    assert entry.provenance.as_dict() == {
        "plugin": "hello", "distribution": "supreme-hello", "version": "0.1.0"}


def test_conformance() -> None:
    check_method(HelloForget)


def test_the_forgotten_class_is_never_predicted_and_others_still_are() -> None:
    original, train = tiny_original()
    data = tiny_unlearn_data(original, train)
    model = HelloForget().unlearn(copy.deepcopy(original).train(), data, cpu_fabric())
    model.eval()
    with torch.no_grad():
        predictions = model(tiny_transform()(train.images)).argmax(1)
    assert data.forget_class == 0
    assert int((predictions == 0).sum()) == 0
    retained = train.labels != 0
    accuracy = (predictions[retained] == train.labels[retained]).float().mean()
    assert float(accuracy) > 0.7
