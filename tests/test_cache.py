"""ParseCache: a JSON file that is an optimisation, never trusted, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mergeguard import cache
from mergeguard.cache import ParseCache, default_cache_path

HEADER = {"revision": "a1", "down_revisions": ["b2", "c3"], "labels": [], "complete": True}


@pytest.fixture(autouse=True)
def _cache_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MERGEGUARD_NO_CACHE", raising=False)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return default_cache_path(tmp_path / "git dir")


def document(path: Path) -> dict[str, object]:
    loaded = json.loads(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_default_path_is_under_the_common_dir(tmp_path: Path) -> None:
    assert default_cache_path(tmp_path) == tmp_path / "mergeguard" / "cache-v1.json"


def test_round_trip_creates_the_directory(path: Path) -> None:
    first = ParseCache(path, "headers-1")
    assert first.get("blob-a") is None
    first.put("blob-a", HEADER)
    first.put("blob-b", ["x", 1, None, 2.5])
    first.save()
    assert document(path) == {
        "format": 1,
        "namespace": "headers-1",
        "entries": {"blob-a": HEADER, "blob-b": ["x", 1, None, 2.5]},
    }
    second = ParseCache(path, "headers-1")
    assert second.get("blob-a") == HEADER
    assert second.get("blob-b") == ["x", 1, None, 2.5]
    assert second.get("blob-c") is None
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_loading_is_lazy(path: Path) -> None:
    ParseCache(path, "ns").save()  # nothing read, nothing written
    assert not path.exists()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": 1, "namespace": "ns", "entries": {"k": 1}}))
    lazy = ParseCache(path, "ns")
    path.write_text(json.dumps({"format": 1, "namespace": "ns", "entries": {"k": 2}}))
    assert lazy.get("k") == 2  # read on first use, not at construction


def test_save_writes_only_when_something_changed(path: Path) -> None:
    writer = ParseCache(path, "ns")
    writer.put("k", {"v": 1})
    writer.save()
    path.unlink()
    writer.save()  # nothing new since the last save
    assert not path.exists()
    writer.put("k", {"v": 1})  # same value: still nothing new
    writer.save()
    assert not path.exists()
    writer.put("k", {"v": 2})
    writer.save()
    assert document(path)["entries"] == {"k": {"v": 2}}
    reader = ParseCache(path, "ns")
    assert reader.get("k") == {"v": 2}
    path.unlink()
    reader.save()  # only gets: no write
    assert not path.exists()


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        b"\xff\xfe garbage",
        "[]",
        "null",
        '{"format": 2, "namespace": "ns", "entries": {"k": 1}}',
        '{"format": 1, "namespace": "ns", "entries": ["k", 1]}',
        '{"format": 1, "namespace": "ns"}',
        '{"format": "1", "namespace": "ns", "entries": {"k": 1}}',
        "[" * 100_000,
    ],
    ids=[
        "not-json",
        "not-utf8",
        "list",
        "null",
        "other-format",
        "entries-list",
        "no-entries",
        "format-string",
        "deep-nesting",
    ],
)
def test_corrupt_or_wrong_shape_is_ignored_then_rebuilt(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    broken = ParseCache(path, "ns")
    assert broken.get("k") is None
    assert len(broken) == 0
    broken.save()  # an untrusted file is replaced even without new entries
    assert document(path) == {"format": 1, "namespace": "ns", "entries": {}}
    broken.put("k", "fresh")
    broken.save()
    assert ParseCache(path, "ns").get("k") == "fresh"


def test_foreign_namespace_is_ignored_and_replaced(path: Path) -> None:
    old = ParseCache(path, "headers-1")
    old.put("k", "old reader")
    old.save()
    new = ParseCache(path, "headers-2")
    assert new.get("k") is None
    new.put("j", "new reader")
    new.save()
    assert document(path) == {"format": 1, "namespace": "headers-2", "entries": {"j": "new reader"}}
    assert ParseCache(path, "headers-1").get("k") is None


def test_memory_only(path: Path) -> None:
    memory = ParseCache(None, "ns")
    memory.put("k", [1])
    assert memory.get("k") == [1]
    memory.save()
    assert memory.path is None


def test_no_cache_env_is_honoured(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = ParseCache(path, "ns")
    seeded.put("k", "on disk")
    seeded.save()
    monkeypatch.setenv("MERGEGUARD_NO_CACHE", "1")
    disabled = ParseCache(path, "ns")
    assert disabled.path is None
    assert disabled.get("k") is None  # the file is not read
    disabled.put("j", "memory")
    assert disabled.get("j") == "memory"
    disabled.save()
    assert document(path)["entries"] == {"k": "on disk"}  # nor written
    monkeypatch.setenv("MERGEGUARD_NO_CACHE", "0")
    assert ParseCache(path, "ns").get("k") == "on disk"


def test_unwritable_location_is_silently_ignored(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a directory")
    unwritable = ParseCache(blocker / "mergeguard" / "cache-v1.json", "ns")
    unwritable.put("k", 1)
    unwritable.save()  # cannot create the directory: no exception
    assert unwritable.get("k") == 1
    assert list(tmp_path.iterdir()) == [blocker]


def test_bounded_to_the_entries_used_in_this_run(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = ParseCache(path, "ns")
    for i in range(5):
        full.put(f"old{i}", i)
    full.save()
    monkeypatch.setattr(cache, "MAX_ENTRIES", 4)
    run = ParseCache(path, "ns")
    assert run.get("old1") == 1
    assert run.get("missing") is None
    run.put("new", "n")
    run.save()
    assert document(path)["entries"] == {"old1": 1, "new": "n"}


def test_loading_5000_entries(path: Path) -> None:
    seeded = ParseCache(path, "ns")
    for i in range(5000):
        seeded.put(f"{i:040x}", {**HEADER, "revision": f"r{i}"})
    seeded.save()
    fresh = ParseCache(path, "ns")
    assert fresh.get(f"{4999:040x}") == {**HEADER, "revision": "r4999"}
    assert len(fresh) == 5000
