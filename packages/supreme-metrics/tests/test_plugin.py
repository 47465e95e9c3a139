"""The plugin registers every metric and imports neither torch nor scikit-learn."""

from __future__ import annotations

import subprocess
import sys

from supreme.contracts import NEEDS, ComponentConfig, Metric
from supreme_metrics import plugin


def test_importing_the_plugin_does_not_import_torch_or_sklearn() -> None:
    code = ("import sys, supreme_metrics.plugin; "
            "bad = [m for m in ('torch', 'sklearn') if m in sys.modules]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_metric_is_a_documented_metric_with_valid_needs() -> None:
    names = [cls.name for cls in plugin.supreme_register_metrics()]
    assert len(names) == len(set(names))
    for cls in plugin.supreme_register_metrics():
        assert issubclass(cls, Metric)
        assert issubclass(cls.Config, ComponentConfig)
        assert cls.needs <= NEEDS, cls.name
        assert cls.describe(), cls.name
        assert "Differences from the reference" in sys.modules[cls.__module__].__doc__
