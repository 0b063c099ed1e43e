"""Environment records: a warm read comes whole from one record keyed by the
environment's listing and settings; anything that changes the read misses it;
a damaged, stale or foreign record is ignored and rebuilt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import RepoBuilder, migration_text

from mergeguard.config.discovery import discover
from mergeguard.git.opening import open_repository
from mergeguard.git.snapshot import MemoryTree, Snapshot
from mergeguard.graph import cache_records
from mergeguard.graph.cache import ParseCache, document_text
from mergeguard.graph.cache_records import RecordStore
from mergeguard.graph.environments import CACHE_NAMESPACE, EnvironmentRead, Reader
from mergeguard.model import Config

KEY_A, KEY_B = "a" * 40, "b" * 40


def _set(column: str, index: int, item: object) -> Callable[[dict[str, Any]], None]:
    def damage(value: dict[str, Any]) -> None:
        value["columns"][column][index] = item

    return damage


COLUMN_DAMAGE: dict[str, Callable[[dict[str, Any]], None]] = {
    "no columns": lambda value: value.pop("columns"),
    "revision type": _set("revision", 0, 5),
    "huge id": _set("revision", 0, "b" * 100_000),
    "short column": lambda value: value["columns"]["message"].pop(),
    "negative span": lambda value: value["columns"]["spans"][0].__setitem__(0, -7),
    "label of no script": lambda value: value["columns"]["labels"].append([10_000, ["x"]]),
    "many parents": _set("down", 1, ["r000"] * 20_000),
}


@pytest.fixture(autouse=True)
def _cache_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MERGEGUARD_NO_CACHE", raising=False)


def reader_for(root: Path, notes: list[str] | None = None) -> Reader:
    """A reader of ``root`` with the cache and records on disk, as a run has them."""
    warn = notes.append if notes is not None else None
    base = root / ".git" / "mergeguard"
    cache = ParseCache(base / "cache-v1.json", CACHE_NAMESPACE, warn)
    return Reader(cache, RecordStore(base / "records", CACHE_NAMESPACE, warn))


def read_head(root: Path, reader: Reader, config: Config | None = None) -> EnvironmentRead:
    """The one environment at HEAD, read and saved as ``close()`` saves it."""
    snapshot: Snapshot = open_repository(root).tree("HEAD")
    [read] = reader.read(snapshot, config or discover(snapshot))
    reader.cache.save()
    reader.records.save()
    return read


def record_files(root: Path) -> list[Path]:
    return sorted((root / ".git" / "mergeguard" / "records").glob("*.json"))


def summary(read: EnvironmentRead) -> tuple[object, ...]:
    return (
        [(str(s.path), s.blob, s.revision, s.down_revisions, s.message) for s in read.scripts],
        read.diagnostics,
    )


@pytest.fixture
def history(repo: RepoBuilder) -> RepoBuilder:
    repo.init_alembic()
    for i in range(6):
        repo.migration(f"r{i:03}", f"r{i - 1:03}" if i else None)
    repo.write("migrations/versions/broken.py", "revision = 'r9'\ndown_revision = f(\n")
    repo.commit()
    return repo


def test_a_warm_read_is_one_record_and_equals_the_cold_read(history: RepoBuilder) -> None:
    cold = reader_for(history.root)
    first = read_head(history.root, cold)
    assert cold.records_used == 0 and cold.files_parsed == 7
    assert first.diagnostics  # the broken file's problem is part of the record
    [record] = record_files(history.root)

    warm = reader_for(history.root)
    second = read_head(history.root, warm)
    assert warm.records_used == 1 and warm.files_parsed == 0
    assert summary(second) == summary(first)
    assert second.graph.heads == first.graph.heads == ("r005",)
    assert record_files(history.root) == [record]  # a hit writes nothing


def test_changing_one_blob_reads_afresh(history: RepoBuilder) -> None:
    read_head(history.root, reader_for(history.root))
    path = history.root / "migrations/versions/r003_migration.py"
    path.write_text(migration_text("r003", "r002", message="changed"))
    history.commit()
    reader = reader_for(history.root)
    read = read_head(history.root, reader)
    assert reader.records_used == 0 and reader.files_parsed == 1
    assert read.graph.script("r003").message == "changed"
    assert len(record_files(history.root)) == 2


def test_the_recursive_flag_is_part_of_the_key(history: RepoBuilder) -> None:
    history.migration("sub1", "r005", directory="migrations/versions/more")
    history.commit()
    flat = read_head(history.root, reader_for(history.root))
    assert "sub1" not in {s.revision for s in flat.scripts}
    snapshot = open_repository(history.root).tree("HEAD")
    config = discover(snapshot)
    deep = replace(
        config, environments=tuple(replace(e, recursive=True) for e in config.environments)
    )
    reader = reader_for(history.root)
    read = read_head(history.root, reader, deep)
    assert reader.records_used == 0 and "sub1" in {s.revision for s in read.scripts}


def test_constants_are_part_of_the_key(repo: RepoBuilder) -> None:
    repo.init_alembic()
    repo.migration("aaa1", None)
    repo.commit()
    read_head(repo.root, reader_for(repo.root))
    repo.write("pyproject.toml", '[tool.mergeguard.constants]\n"settings.LABEL" = "core"\n')
    repo.commit()
    reader = reader_for(repo.root)
    read_head(repo.root, reader)
    assert reader.records_used == 0  # same versions directory, other constants
    again = reader_for(repo.root)
    read_head(repo.root, again)
    assert again.records_used == 1


def test_an_environment_importing_a_module_is_not_recorded(repo: RepoBuilder) -> None:
    repo.init_alembic()
    repo.write("migrations/consts.py", "PARENT = 'aaa1'\n")
    repo.write("migrations/__init__.py", "")
    repo.write("migrations/versions/__init__.py", "")
    repo.migration("aaa1", None)
    repo.migration("ccc3", None)
    repo.migration("bbb2", "__P__", prelude="from .. import consts\n")
    path = repo.root / "migrations/versions/bbb2_migration.py"
    path.write_text(path.read_text().replace("'__P__'", "consts.PARENT"))
    repo.commit()
    first = read_head(repo.root, reader_for(repo.root))
    assert first.graph.script("bbb2").down_revisions == ("aaa1",)
    assert record_files(repo.root) == []
    repo.write("migrations/consts.py", "PARENT = 'ccc3'\n")  # versions/ unchanged
    repo.commit()
    reader = reader_for(repo.root)
    second = read_head(repo.root, reader)
    assert reader.records_used == 0
    assert second.graph.script("bbb2").down_revisions == ("ccc3",)


def test_every_snapshot_kind_shares_the_key_of_its_listing(history: RepoBuilder) -> None:
    read_head(history.root, reader_for(history.root))
    files = {
        str(p.relative_to(history.root)): p.read_bytes()
        for p in history.root.rglob("*")
        if p.is_file() and ".git" not in p.parts
    }
    reader = reader_for(history.root)
    repository = open_repository(history.root)
    for snapshot in (repository.index(), repository.worktree(), MemoryTree(files)):
        [read] = reader.read(snapshot, discover(snapshot))
        assert read.graph.heads == ("r005",)
    assert reader.records_used == 3 and reader.files_parsed == 0


def test_a_listing_is_read_once_per_run_whatever_lists_it(repo: RepoBuilder) -> None:
    """Two snapshots listing the same files share one read (the same scripts,
    the same graph), cold or warm; a changed listing is read on its own."""
    repo.init_alembic()
    for i in range(3):
        repo.migration(f"r{i}", f"r{i - 1}" if i else None)
    repo.commit()
    for _ in ("cold", "warm"):
        reader = reader_for(repo.root)
        repository = open_repository(repo.root)
        [head] = reader.read(repository.tree("HEAD"), discover(repository.tree("HEAD")))
        [index] = reader.read(repository.index(), discover(repository.index()))
        assert index.scripts is head.scripts and index.graph is head.graph
        reader.records.save()
    repo.migration("r3", "r2")
    repo.git("add", "-A")
    [staged] = reader.read(repository.index(), discover(repository.index()))
    assert staged.scripts is not head.scripts and staged.graph.heads == ("r3",)


@pytest.mark.parametrize(
    "damage",
    [
        b"\x00garbage",  # not JSON
        None,  # a well-formed file whose digest does not match
        "positions",  # a well-formed record naming files the listing does not have
        "shape",
        "foreign code",  # a problem the reader never reports, with a forged name
        # the rows the record holds, well-formed JSON with the digest recomputed:
        "no columns",  # a record of positions only, as before its rows were in it
        "revision type",
        "huge id",  # longer than any id the reader accepts
        "short column",  # one message fewer than scripts
        "negative span",
        "label of no script",  # a sparse column naming a script the record lacks
        "many parents",
    ],
)
def test_a_damaged_record_is_ignored_and_rebuilt(
    history: RepoBuilder, damage: bytes | str | None
) -> None:
    first = read_head(history.root, reader_for(history.root))
    [record] = record_files(history.root)
    header, body = record.read_text().split("\n")
    value = json.loads(body)["value"]
    if isinstance(damage, bytes):
        record.write_bytes(damage)
    elif damage is None:
        record.write_text(header + "\n" + body.replace('"files":', '"files": '))
    elif damage == "positions":
        value["scripts"][0] = 10_000
        record.write_text(document_text(CACHE_NAMESPACE, {"value": value}))
    elif damage == "foreign code":
        forged = ["MG102", "x\n::error::forged", "error", "x", None, None, [], []]
        value["problems"] = [forged]
        record.write_text(document_text(CACHE_NAMESPACE, {"value": value}))
    elif damage in COLUMN_DAMAGE:
        COLUMN_DAMAGE[damage](value)
        record.write_text(document_text(CACHE_NAMESPACE, {"value": value}))
    else:
        value["problems"] = [["MG001", 5, "error", "x", None, None, [], []]]
        record.write_text(document_text(CACHE_NAMESPACE, {"value": value}))
    notes: list[str] = []
    reader = reader_for(history.root, notes)
    again = read_head(history.root, reader)
    assert reader.records_used == 0 and summary(again) == summary(first)
    if damage is None or isinstance(damage, bytes):
        [note] = notes
        assert "is damaged" in note and "it is rebuilt" in note
    healed = reader_for(history.root)
    assert summary(read_head(history.root, healed)) == summary(first)
    assert healed.records_used == 1


def test_the_rows_of_a_record_are_its_scripts(history: RepoBuilder) -> None:
    """A warm read builds its scripts from the record's own rows: a changed
    message (well-formed, digest recomputed) is what the read says, and the
    parse cache's rows are not read at all."""
    read_head(history.root, reader_for(history.root))
    [record] = record_files(history.root)
    value = json.loads(record.read_text().split("\n")[1])["value"]
    value["columns"]["message"][0] = "from the record"
    record.write_text(document_text(CACHE_NAMESPACE, {"value": value}))
    (history.root / ".git" / "mergeguard" / "cache-v1.json").write_bytes(b"\x00garbage")
    notes: list[str] = []
    reader = reader_for(history.root, notes)
    read = read_head(history.root, reader)
    assert reader.records_used == 1 and read.scripts[0].message == "from the record"
    assert notes == []  # the damaged cache file was not needed, so not opened


def test_a_record_of_another_reader_version_is_replaced_silently(history: RepoBuilder) -> None:
    first = read_head(history.root, reader_for(history.root))
    [record] = record_files(history.root)
    value = json.loads(record.read_text().split("\n")[1])["value"]
    value["scripts"] = value["scripts"][:1]  # what an older reader might have said
    record.write_text(document_text("facts-0", {"value": value}))
    notes: list[str] = []
    reader = reader_for(history.root, notes)
    assert summary(read_head(history.root, reader)) == summary(first)
    assert reader.records_used == 0 and notes == []
    assert json.loads(record.read_text().split("\n")[0])["namespace"] == CACHE_NAMESPACE


def test_a_record_that_is_a_symlink_is_not_followed(history: RepoBuilder, tmp_path: Path) -> None:
    first = read_head(history.root, reader_for(history.root))
    [record] = record_files(history.root)
    target = tmp_path / "elsewhere.json"
    target.write_text(record.read_text())
    record.unlink()
    record.symlink_to(target)
    notes: list[str] = []
    reader = reader_for(history.root, notes)
    assert summary(read_head(history.root, reader)) == summary(first)
    assert reader.records_used == 0 and "symbolic link" in notes[0]


def test_records_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_records, "MAX_RECORDS", 3)
    directory = tmp_path / "records"
    for i in range(5):
        store = RecordStore(directory, "ns")
        store.put(f"{i:040x}", {"n": i})
        store.save()
        stamp = 1_000_000 + i
        os.utime(directory / f"{i:040x}.json", (stamp, stamp))
    assert sorted(p.name for p in directory.iterdir()) == [f"{i:040x}.json" for i in (2, 3, 4)]
    assert RecordStore(directory, "ns").get(f"{4:040x}") == {"n": 4}
    store = RecordStore(directory, "ns")
    store.put("../escape", {"n": 0})  # not a key: never a path
    store.save()
    assert not (tmp_path / "escape.json").exists()


def test_records_are_bounded_in_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record holds its scripts' rows: the directory is bounded in bytes too,
    the least recently used records removed first."""
    directory = tmp_path / "records"
    for i in range(4):
        store = RecordStore(directory, "ns")
        store.put(f"{i:040x}", {"rows": "x" * 1000})
        store.save()
        stamp = 1_000_000 + i
        os.utime(directory / f"{i:040x}.json", (stamp, stamp))
    size = (directory / f"{0:040x}.json").stat().st_size
    monkeypatch.setattr(cache_records, "MAX_RECORDS_BYTES", 2 * size + 10)
    store = RecordStore(directory, "ns")
    store.put(f"{9:040x}", {"rows": "y" * 1000})
    store.save()
    assert sorted(p.name for p in directory.iterdir()) == [f"{i:040x}.json" for i in (3, 9)]


def test_pruning_keeps_what_is_not_a_record_and_the_records_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only files named as records are pruned, least recently used first: the
    base branch's record, read by every run, outlives newer ones never read."""
    monkeypatch.setattr(cache_records, "MAX_RECORDS", 2)
    directory = tmp_path / "records"
    directory.mkdir()
    (directory / "notes.json").write_text("mine")
    for i in range(4):
        store = RecordStore(directory, "ns")
        store.put(f"{i:040x}", {"n": i})
        store.save()
        stamp = 1_000_000 + i
        os.utime(directory / f"{i:040x}.json", (stamp, stamp))
        assert RecordStore(directory, "ns").get(f"{0:040x}") == {"n": 0}  # used each run
    names = sorted(p.name for p in directory.iterdir())
    assert names == [f"{0:040x}.json", f"{3:040x}.json", "notes.json"]


def test_records_are_never_written_through_a_symlinked_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / f"{1:040x}.json").write_text("not a record, not ours")
    (tmp_path / "records").symlink_to(elsewhere)
    store = RecordStore(tmp_path / "records", "ns")
    store.put(f"{2:040x}", {"n": 2})
    store.save()
    assert sorted(p.name for p in elsewhere.iterdir()) == [f"{1:040x}.json"]


CONCURRENT = """
import sys
from mergeguard.app.cli import main
sys.exit(main(["heads", "-C", sys.argv[1], "--format", "json"]))
"""


def test_concurrent_runs_never_leave_a_torn_cache(history: RepoBuilder) -> None:
    """Runs writing the cache and the records at once: each file is whole
    afterwards (one run's update may be lost, none is half written)."""
    for i in range(6, 40):
        history.migration(f"r{i:03}", f"r{i - 1:03}")
    history.commit()
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(history.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    outputs = [run.communicate() for run in runs]
    assert {run.returncode for run in runs} == {1}  # broken.py: a problem each time
    assert len({out for out, _ in outputs}) == 1
    assert all(b"damaged" not in err for _, err in outputs)
    notes: list[str] = []
    reader = reader_for(history.root, notes)
    read = read_head(history.root, reader)
    assert notes == [] and reader.records_used == 1 and read.graph.heads == ("r039",)
    assert json.loads(out_of(outputs))["environments"][0]["heads"] == ["r039"]


def out_of(outputs: list[tuple[bytes, bytes]]) -> str:
    return outputs[0][0].decode()
