"""ParseCache: a JSON file that is an optimisation, never trusted, never fatal."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from mergeguard.graph import cache
from mergeguard.graph.cache import ParseCache, default_cache_path

HEADER = {"revision": "a1", "down_revisions": ["b2", "c3"], "labels": [], "complete": True}


@pytest.fixture(autouse=True)
def _cache_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MERGEGUARD_NO_CACHE", raising=False)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return default_cache_path(tmp_path / "git dir")


BLOB_A, BLOB_B, BLOB_C = ("a" * 40, "b" * 40, "c" * 40)


def document(path: Path) -> dict[str, object]:
    """The header of the cache file, with its entries under ``entries``."""
    header, body = path.read_text().split("\n")
    loaded = json.loads(header)
    assert isinstance(loaded, dict)
    return {**loaded, "entries": json.loads(body)}


def write_cache(path: Path, namespace: str, entries: dict[str, object]) -> None:
    """A well-formed cache file (right digest) holding ``entries`` as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cache.document_text(namespace, entries))


def test_default_path_is_under_the_common_dir(tmp_path: Path) -> None:
    assert default_cache_path(tmp_path) == tmp_path / "mergeguard" / "cache-v1.json"


def test_round_trip_creates_the_directory(path: Path) -> None:
    first = ParseCache(path, "headers-1")
    assert first.get("s:", BLOB_A) is None
    first.put("s:", BLOB_A, HEADER)
    first.put("o:", BLOB_B, ["x", 1, None, 2.5])
    first.save()
    saved = document(path)
    assert saved["format"] == 2 and saved["namespace"] == "headers-1"
    assert saved["entries"] == {
        "s:" + BLOB_A: [BLOB_A, "headers-1", HEADER],
        "o:" + BLOB_B: [BLOB_B, "headers-1", ["x", 1, None, 2.5]],
    }
    second = ParseCache(path, "headers-1")
    assert second.get("s:", BLOB_A) == HEADER
    assert second.get("o:", BLOB_B) == ["x", 1, None, 2.5]
    assert second.get("s:", BLOB_B) is None  # another kind of the same blob
    assert second.get("s:", BLOB_C) is None
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_loading_is_lazy(path: Path) -> None:
    ParseCache(path, "ns").save()  # nothing read, nothing written
    assert not path.exists()
    write_cache(path, "ns", {"k" + BLOB_A: [BLOB_A, "ns", 1]})
    lazy = ParseCache(path, "ns")
    write_cache(path, "ns", {"k" + BLOB_A: [BLOB_A, "ns", 2]})
    assert lazy.get("k", BLOB_A) == 2  # read on first use, not at construction


def test_save_writes_only_when_something_changed(path: Path) -> None:
    writer = ParseCache(path, "ns")
    writer.put("k", BLOB_A, {"v": 1})
    writer.save()
    path.unlink()
    writer.save()  # nothing new since the last save
    assert not path.exists()
    writer.put("k", BLOB_A, {"v": 1})  # same value: still nothing new
    writer.save()
    assert not path.exists()
    writer.put("k", BLOB_A, {"v": 2})
    writer.save()
    assert document(path)["entries"] == {"k" + BLOB_A: [BLOB_A, "ns", {"v": 2}]}
    reader = ParseCache(path, "ns")
    assert reader.get("k", BLOB_A) == {"v": 2}
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
        '{"format": 1, "namespace": "ns", "entries": {"k": 1}}',
        '{"format": 2, "namespace": "ns"}',
        '{"format": 2, "namespace": "ns", "digest": "00"}\n{"k": 1}',
        '{"format": "2", "namespace": "ns", "entries": {"k": 1}}',
        "[" * 100_000,
    ],
    ids=[
        "not-json",
        "not-utf8",
        "list",
        "null",
        "format-1",
        "no-entries",
        "wrong-digest",
        "format-string",
        "deep-nesting",
    ],
)
def test_corrupt_or_wrong_shape_is_ignored_then_rebuilt(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    broken = ParseCache(path, "ns")
    assert broken.get("k", "") is None
    assert len(broken) == 0
    broken.save()  # an untrusted file is replaced even without new entries
    assert document(path)["entries"] == {}
    broken.put("k", BLOB_A, "fresh")
    broken.save()
    assert ParseCache(path, "ns").get("k", BLOB_A) == "fresh"


def test_foreign_namespace_is_ignored_and_replaced(path: Path) -> None:
    old = ParseCache(path, "headers-1")
    old.put("k", BLOB_A, "old reader")
    old.save()
    new = ParseCache(path, "headers-2")
    assert new.get("k", BLOB_A) is None
    new.put("j", BLOB_A, "new reader")
    new.save()
    assert document(path)["namespace"] == "headers-2"
    assert document(path)["entries"] == {"j" + BLOB_A: [BLOB_A, "headers-2", "new reader"]}
    assert ParseCache(path, "headers-1").get("k", BLOB_A) is None


def test_memory_only(path: Path) -> None:
    memory = ParseCache(None, "ns")
    memory.put("k", BLOB_A, [1])
    assert memory.get("k", BLOB_A) == [1]
    memory.save()
    assert memory.path is None


def test_no_cache_env_is_honoured(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = ParseCache(path, "ns")
    seeded.put("k", BLOB_A, "on disk")
    seeded.save()
    monkeypatch.setenv("MERGEGUARD_NO_CACHE", "1")
    disabled = ParseCache(path, "ns")
    assert disabled.path is None
    assert disabled.get("k", BLOB_A) is None  # the file is not read
    disabled.put("j", BLOB_A, "memory")
    assert disabled.get("j", BLOB_A) == "memory"
    disabled.save()
    assert document(path)["entries"] == {"k" + BLOB_A: [BLOB_A, "ns", "on disk"]}  # nor written
    monkeypatch.setenv("MERGEGUARD_NO_CACHE", "0")
    assert ParseCache(path, "ns").get("k", BLOB_A) == "on disk"


def test_unusable_location_is_reported_once_and_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a directory")
    notes: list[str] = []
    unwritable = ParseCache(blocker / "mergeguard" / "cache-v1.json", "ns", notes.append)
    unwritable.put("k", BLOB_A, 1)
    unwritable.save()  # cannot create the directory: no exception
    assert unwritable.get("k", BLOB_A) == 1
    assert unwritable.get("j", BLOB_A) is None
    assert list(tmp_path.iterdir()) == [blocker]
    [note] = notes
    assert "cannot be opened (Not a directory)" in note and "running without it" in note


def test_bounded_to_the_entries_used_in_this_run(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = ParseCache(path, "ns")
    for i in range(5):
        full.put(f"old{i}", BLOB_A, i)
    full.save()
    monkeypatch.setattr(cache, "MAX_ENTRIES", 4)
    run = ParseCache(path, "ns")
    assert run.get("old1", BLOB_A) == 1
    assert run.get("missing", BLOB_A) is None
    run.put("new", BLOB_B, "n")
    run.save()
    assert document(path)["entries"] == {
        "old1" + BLOB_A: [BLOB_A, "ns", 1],
        "new" + BLOB_B: [BLOB_B, "ns", "n"],
    }


def test_loading_5000_entries(path: Path) -> None:
    seeded = ParseCache(path, "ns")
    for i in range(5000):
        seeded.put("s:", f"{i:040x}", {**HEADER, "revision": f"r{i}"})
    seeded.save()
    fresh = ParseCache(path, "ns")
    assert fresh.get("s:", f"{4999:040x}") == {**HEADER, "revision": "r4999"}
    assert len(fresh) == 5000


def test_stale_temp_files_of_killed_runs_are_removed(path: Path) -> None:
    path.parent.mkdir(parents=True)
    stale = path.parent / (path.name + ".abc123.tmp")
    fresh = path.parent / (path.name + ".def456.tmp")  # a writer running right now
    other = path.parent / "notes.tmp"
    for leftover in (stale, fresh, other):
        leftover.write_text("{")
    hour_ago = time.time() - cache.STALE_TEMP_SECONDS - 60
    os.utime(stale, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))
    writer = ParseCache(path, "ns")
    writer.put("k", BLOB_A, 1)
    writer.save()
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [path.name, fresh.name, other.name]
    )


def test_a_row_answers_only_for_its_blob_and_reader(path: Path) -> None:
    write_cache(
        path,
        "ns",
        {
            "s:" + BLOB_A: [BLOB_B, "ns", "the row of another blob"],
            "s:" + BLOB_B: [BLOB_B, "ns-old", "a row of another reader"],
            "s:" + BLOB_C: [BLOB_C, "ns", "right"],
        },
    )
    loaded = ParseCache(path, "ns")
    assert loaded.get("s:", BLOB_A) is None
    assert loaded.get("s:", BLOB_B) is None
    assert loaded.get("s:", BLOB_C) == "right"
