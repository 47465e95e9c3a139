"""Plugin discovery with fake distributions on disk, failures, duplicates, env variables."""

from __future__ import annotations

import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
from supreme import registry
from supreme.errors import PluginError, UnknownComponentError
from supreme.plugins import PluginManager, PluginWarning
from supreme.registry import Registry

METHOD_PLUGIN = """
from supreme import hookimpl
from supreme.contracts import UnlearningMethod

class {cls}(UnlearningMethod):
    '''{doc}'''
    name = "{method}"
    def unlearn(self, model, data, fabric):
        return model

@hookimpl
def supreme_register_methods():
    return [{cls}]
"""


def make_dist(root: Path, dist: str, version: str, entry: str, module: str, source: str) -> None:
    """A minimal installed distribution: a module plus a dist-info with an entry point."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[supreme]\n{entry} = {module}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys.modules[__name__], "SITE", [tmp_path])
    return tmp_path


def method_source(method: str, cls: str = "M", doc: str = "A fake method.") -> str:
    return METHOD_PLUGIN.format(method=method, cls=cls, doc=doc)


SITE: list[Path] = []


def fresh(strict: bool = False) -> Registry:
    """A registry of the built-ins plus the fake distributions of this test (only)."""
    plugins = PluginManager(strict=strict)
    plugins.load_builtins()
    plugins.load_entry_points([
        ep for dist in metadata.distributions(path=[str(p) for p in SITE])
        for ep in dist.entry_points if ep.group == "supreme"
    ])
    return Registry(plugins)


def test_entry_point_of_a_fake_distribution_is_discovered_with_provenance(site: Path) -> None:
    make_dist(site, "fake-unlearn", "1.2.3", "fake", "fake_unlearn_mod", method_source("fake_m"))
    reg = fresh()
    entry = reg.entry("methods", "fake_m")
    assert entry.provenance.as_dict() == {
        "plugin": "fake", "distribution": "fake-unlearn", "version": "1.2.3"}
    assert entry.cls.describe() == "A fake method."
    # the core's own built-ins come through the same hooks, with the core's provenance
    assert reg.entry("methods", "retrain").provenance.distribution == "supreme-core"


def test_a_plugin_that_fails_to_import_is_skipped_with_a_warning(site: Path) -> None:
    make_dist(site, "broken-dist", "0.0.1", "broken", "broken_mod", "raise ImportError('no cuda')")
    make_dist(site, "good-dist", "2.0", "good", "good_mod", method_source("good_m"))
    with pytest.warns(PluginWarning) as caught:
        reg = fresh()
    message = str(caught[0].message)
    assert "plugin 'broken' from broken-dist 0.0.1 failed to load: ImportError: no cuda" in message
    assert "SUPREME_DISABLE_PLUGINS=broken" in message
    assert "good_m" in reg.names("methods")  # the others still load
    assert [f.plugin for f in reg.plugins.failures] == ["broken"]


def test_strict_plugins_makes_a_load_failure_fatal(site: Path) -> None:
    make_dist(site, "broken-dist", "0.0.1", "broken", "broken_mod2", "1/0")
    with pytest.raises(PluginError) as info:
        fresh(strict=True)
    assert "plugin 'broken' from broken-dist 0.0.1 failed to load: ZeroDivisionError" in str(info.value)
    assert info.value.exit_code == 2


def test_a_hook_that_raises_is_a_plugin_failure(site: Path) -> None:
    source = """
from supreme import hookimpl
@hookimpl
def supreme_register_metrics():
    raise RuntimeError("boom")
"""
    make_dist(site, "raising-dist", "1.0", "raising", "raising_mod", source)
    with pytest.warns(PluginWarning, match="plugin 'raising' from raising-dist 1.0 .*RuntimeError: boom"):
        fresh()
    with pytest.raises(PluginError, match="RuntimeError: boom"):
        fresh(strict=True)


def test_two_providers_of_one_name_is_an_error_naming_both(site: Path) -> None:
    make_dist(site, "alpha-dist", "1.0", "alpha", "alpha_mod", method_source("same"))
    make_dist(site, "beta-dist", "2.0", "beta", "beta_mod", method_source("same"))
    with pytest.raises(PluginError) as info:
        fresh()
    text = str(info.value)
    assert "two plugins register the method 'same'" in text
    assert "plugin 'alpha' (alpha-dist 1.0)" in text and "plugin 'beta' (beta-dist 2.0)" in text


def test_disable_and_load_variables(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist(site, "alpha-dist", "1.0", "alpha", "alpha_mod3", method_source("a_m"))
    make_dist(site, "beta-dist", "2.0", "beta", "beta_mod3", method_source("b_m"))
    monkeypatch.setenv("SUPREME_DISABLE_PLUGINS", "alpha")
    names = fresh().names("methods")
    assert "a_m" not in names and "b_m" in names
    monkeypatch.delenv("SUPREME_DISABLE_PLUGINS")
    monkeypatch.setenv("SUPREME_LOAD_PLUGINS", "alpha-dist")  # a distribution name works too
    names = fresh().names("methods")
    assert "a_m" in names and "b_m" not in names
    assert {"original", "retrain"} <= set(names)  # built-ins always load


def test_a_misspelt_hook_is_rejected_at_start_up(site: Path) -> None:
    source = """
from supreme import hookimpl
@hookimpl
def supreme_register_method():
    return []
"""
    make_dist(site, "typo-dist", "1.0", "typo", "typo_mod", source)
    with pytest.raises(PluginError, match="implements a hook that does not exist"):
        fresh()


def test_a_non_component_registration_is_a_plugin_failure(site: Path) -> None:
    source = """
from supreme import hookimpl
@hookimpl
def supreme_register_methods():
    return [object]
"""
    make_dist(site, "wrong-dist", "1.0", "wrong", "wrong_mod", source)
    with pytest.warns(PluginWarning, match="not a UnlearningMethod subclass"):
        fresh()


def test_plugin_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "my_method.py"
    path.write_text(method_source("file_m"))
    registry.configure(paths=[path])
    entry = registry.default().entry("methods", "file_m")
    assert entry.provenance.distribution == str(path)
    registry.configure(paths=[tmp_path / "missing.py"])
    with pytest.raises(PluginError, match="missing.py' does not exist"):
        registry.default()


def test_runtime_registration_and_unknown_names_suggest_the_closest(toy: object) -> None:
    assert registry.get_dataset("toy").name == "toy"
    with pytest.raises(UnknownComponentError) as info:
        registry.get_method("toy_ascnt")
    assert info.value.message == "unknown method 'toy_ascnt'"
    assert info.value.hint.startswith("Did you mean 'toy_ascent'?")
