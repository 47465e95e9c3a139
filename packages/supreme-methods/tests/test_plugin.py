"""The plugin registers every method and loads without importing torch."""

from __future__ import annotations

import subprocess
import sys

from supreme_methods.plugin import METHODS, supreme_register_methods

EXPECTED = {
    "finetune", "neg_grad", "random_labeling", "bad_teacher", "unsir", "scrub", "jit",
    "ssd", "lfssd", "ssd_det", "lfssd_det", "assd", "salun", "l1_sparse", "neg_grad_plus",
    "cf_k", "eu_k", "fisher",
}


def test_plugin_import_does_not_import_torch():
    code = "import supreme_methods.plugin, sys; assert 'torch' not in sys.modules, 'torch loaded'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_hook_returns_every_method_once_with_a_one_line_description():
    names = [cls.name for cls in supreme_register_methods()]
    assert sorted(names) == sorted(set(names))
    assert set(names) == EXPECTED
    for cls in METHODS:
        assert cls.describe() and "\n" not in cls.describe()
        assert cls.__module__.rsplit(".", 1)[-1] == cls.name, "one module per method"
