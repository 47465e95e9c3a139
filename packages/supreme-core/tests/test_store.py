"""The store: atomic artifacts, checksums, safe loading, locks."""

from __future__ import annotations

import json
import os
import pickle
import threading
from pathlib import Path

import pytest
import torch
from supreme.errors import StoreError
from supreme.store import META, PAYLOAD, Store, hash_key


def test_keys_are_stable_and_order_independent() -> None:
    assert hash_key({"a": 1, "b": [1, 2]}) == hash_key({"b": [1, 2], "a": 1})
    assert hash_key({"a": 1}) != hash_key({"a": 2})
    assert len(hash_key({})) == 24


def test_save_then_load_round_trips_tensors_and_meta(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save("models", "k1", {"seconds": 1.5}, {"w": torch.arange(4.0)})
    meta, tensors = store.load("models", "k1")
    assert meta["seconds"] == 1.5 and "sha256" in meta
    assert torch.equal(tensors["w"], torch.arange(4.0))
    assert not list((tmp_path / "models" / "k1").glob("*.tmp"))


class Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("touch pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store(tmp_path / "store")
    store.save("models", "evil", {}, {"w": torch.zeros(1)})
    directory = tmp_path / "store" / "models" / "evil"
    data = pickle.dumps({"w": Evil()})
    torch.save({"w": Evil()}, directory / PAYLOAD)
    data = (directory / PAYLOAD).read_bytes()
    meta = json.loads((directory / META).read_text())
    import hashlib

    meta["sha256"] = hashlib.sha256(data).hexdigest()  # even with a matching checksum
    (directory / META).write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="cannot be loaded safely"):
        store.load("models", "evil")
    assert not (tmp_path / "pwned").exists()


def test_get_or_compute_computes_once_under_concurrency(tmp_path: Path) -> None:
    store = Store(tmp_path)
    calls: list[int] = []

    def compute() -> tuple[dict, dict]:
        calls.append(1)
        return {"n": len(calls)}, {"x": torch.ones(2)}

    threads = [threading.Thread(target=store.get_or_compute, args=("c", "k", compute))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    meta, _, reused = store.get_or_compute("c", "k", compute)
    assert reused and meta["n"] == 1


def test_a_missing_meta_means_absent_even_if_the_payload_exists(tmp_path: Path) -> None:
    store = Store(tmp_path)
    (tmp_path / "models" / "half").mkdir(parents=True)
    torch.save({"w": torch.zeros(1)}, tmp_path / "models" / "half" / PAYLOAD)
    assert not store.has("models", "half")  # a killed write is never trusted
