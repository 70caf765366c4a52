"""Every store backend: atomic puts, listing, missing keys, engine-writable outputs."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_put_get_exists_delete(store) -> None:
    assert not store.exists("staging/q/2024-03-01/0000.json")
    store.put("staging/q/2024-03-01/0000.json", "émoji 🚗".encode())
    assert store.get("staging/q/2024-03-01/0000.json").decode() == "émoji 🚗"
    assert store.exists("staging/q/2024-03-01/0000.json")
    store.put("staging/q/2024-03-01/0000.json", b"second")
    assert store.get("staging/q/2024-03-01/0000.json") == b"second"
    store.delete("staging/q/2024-03-01/0000.json")
    store.delete("staging/q/2024-03-01/0000.json")
    assert not store.exists("staging/q/2024-03-01/0000.json")


def test_missing_key_raises_key_error(store) -> None:
    with pytest.raises(KeyError):
        store.get("nope/missing.json")


def test_list_is_sorted_and_scoped_to_prefix(store) -> None:
    for key in ("a/q/2/0015.json", "a/q/1/0000.json", "a/other/0.json", "b/q/0.json"):
        store.put(key, b"x")
    assert list(store.list("a/q")) == ["a/q/1/0000.json", "a/q/2/0015.json"]
    assert list(store.list("nothing/here")) == []


def test_rejects_keys_escaping_the_root(store) -> None:
    with pytest.raises(ValueError):
        store.put("../outside.json", b"x")


def test_writing_publishes_only_on_success(store) -> None:
    with store.writing("outputs/q/t.parquet") as path:
        Path(path).write_bytes(b"whole")
        assert not store.exists("outputs/q/t.parquet")
    assert store.get("outputs/q/t.parquet") == b"whole"
    with pytest.raises(RuntimeError), store.writing("outputs/q/t.parquet") as path:
        Path(path).write_bytes(b"torn")
        raise RuntimeError("engine failed")
    assert store.get("outputs/q/t.parquet") == b"whole"
    assert list(store.list("outputs/q")) == ["outputs/q/t.parquet"]


def test_versions_change_when_an_object_is_written_again(store) -> None:
    store.put("staging/q/a.json", b"1")
    store.put("staging/q/b.json", b"2")
    store.put("other/c.json", b"3")
    first = store.versions("staging/q")
    assert sorted(first) == ["staging/q/a.json", "staging/q/b.json"]
    store.put("staging/q/a.json", b"one")
    second = store.versions("staging/q")
    assert second["staging/q/a.json"] != first["staging/q/a.json"]
    assert second["staging/q/b.json"] == first["staging/q/b.json"]
