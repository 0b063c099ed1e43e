"""The pipeline on real repositories: constants across modules, the cache,
Alembic's file selection, several environments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ALEMBIC_INI, RepoBuilder, migration_text

from mergeguard.app.cli import main
from mergeguard.config.discovery import discover
from mergeguard.git.opening import open_repository
from mergeguard.graph.cache import ParseCache, document_text
from mergeguard.graph.environments import CACHE_NAMESPACE, Reader

NEUTRON_CLI = '''"""Constants, as openstack/neutron keeps them."""
EXPAND_BRANCH = 'expand'
CONTRACT_BRANCH = 'contract'
MIGRATION_BRANCHES = (CONTRACT_BRANCH, EXPAND_BRANCH)
'''


def neutron_like(repo: RepoBuilder) -> None:
    repo.write(
        "alembic.ini",
        ALEMBIC_INI.replace(
            "%(here)s/migrations", "%(here)s/neutron/db/migration/alembic_migrations"
        ),
    )
    repo.write("neutron/__init__.py", "")
    repo.write("neutron/db/__init__.py", "")
    repo.write("neutron/db/migration/__init__.py", "")
    repo.write("neutron/db/migration/cli.py", NEUTRON_CLI)
    versions = "neutron/db/migration/alembic_migrations/versions"
    prelude = "from neutron.db.migration import cli\n"
    repo.migration("kilo", None, directory=versions)
    repo.migration(
        "exp1", "kilo", directory=versions, prelude=prelude, branch_labels="__CLI_EXPAND__"
    )
    repo.migration(
        "con1",
        "kilo",
        directory=versions,
        prelude=prelude,
        branch_labels="__CLI_CONTRACT__",
        depends_on="__NEUTRON_EXP__",
    )
    for name in ("exp1", "con1"):
        path = repo.root / versions / f"{name}_migration.py"
        text = path.read_text()
        text = text.replace("'__CLI_EXPAND__'", "cli.EXPAND_BRANCH")
        text = text.replace("'__CLI_CONTRACT__'", "cli.CONTRACT_BRANCH")
        text = text.replace("'__NEUTRON_EXP__'", "'neutron-' + cli.EXPAND_BRANCH")
        path.write_text(text)


def heads_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["heads", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_imported_constants_are_read_statically(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    neutron_like(repo)
    repo.commit()
    code, document = heads_json(capsys, "-C", str(repo.root))
    # 'neutron-expand' is no label here: depends_on names nothing -> MG004, not MG002
    assert [f["code"] for f in document["findings"]] == ["MG004"]
    assert "neutron-expand" in document["findings"][0]["message"]
    env = document["environments"][0]
    assert env["branch_labels"] == {"contract": "con1", "expand": "exp1"}
    assert code == 1


def test_constants_follow_the_ref(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    neutron_like(repo)
    first = repo.commit()
    repo.write("neutron/db/migration/cli.py", NEUTRON_CLI.replace("'expand'", "'grow'"))
    repo.commit()
    _, old = heads_json(capsys, "-C", str(repo.root), "--ref", first)
    _, new = heads_json(capsys, "-C", str(repo.root), "--ref", "HEAD")
    assert "expand" in old["environments"][0]["branch_labels"]
    assert "grow" in new["environments"][0]["branch_labels"]


def test_unreadable_constant_is_mg002_unless_configured(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    prelude = "from somewhere_else import settings\n"
    repo.migration("aaa1", None, prelude=prelude, branch_labels="__X__")
    path = repo.root / "migrations/versions/aaa1_migration.py"
    path.write_text(path.read_text().replace("'__X__'", "settings.LABEL"))
    repo.commit()
    code, document = heads_json(capsys, "-C", str(repo.root))
    [finding] = document["findings"]
    assert code == 1 and finding["code"] == "MG002"
    assert "settings.LABEL" in finding["hint"] and finding["line"] > 1
    repo.write("pyproject.toml", '[tool.mergeguard.constants]\n"settings.LABEL" = "core"\n')
    repo.commit()
    code, document = heads_json(capsys, "-C", str(repo.root))
    assert code == 0 and document["environments"][0]["branch_labels"] == {"core": "aaa1"}


def test_relative_import_from_the_versions_package(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    repo.write("migrations/versions/__init__.py", "")
    repo.write("migrations/__init__.py", "")
    repo.write("migrations/consts.py", "PARENT = 'aaa1'\n")
    repo.migration("aaa1", None)
    repo.migration("bbb2", "__P__", prelude="from .. import consts\n")
    path = repo.root / "migrations/versions/bbb2_migration.py"
    path.write_text(path.read_text().replace("'__P__'", "consts.PARENT"))
    repo.commit()
    code, document = heads_json(capsys, "-C", str(repo.root))
    assert code == 0 and document["environments"][0]["heads"] == ["bbb2"]


def reader_for(root: Path) -> tuple[Reader, object]:
    repository = open_repository(root)
    cache = ParseCache(root / ".git" / "mergeguard" / "test-cache.json", CACHE_NAMESPACE)
    return Reader(cache), repository


def test_second_run_parses_only_changed_blobs(repo: RepoBuilder) -> None:
    repo.init_alembic()
    for i in range(20):
        repo.migration(f"r{i:03}", f"r{i - 1:03}" if i else None)
    repo.commit()
    reader, repository = reader_for(repo.root)
    snapshot = repository.tree("HEAD")  # type: ignore[attr-defined]
    reader.read(snapshot, discover(snapshot))
    assert reader.files_parsed == 20
    reader.cache.save()

    repo.migration("r020", "r019")
    (repo.root / "migrations/versions/r005_migration.py").write_text(
        migration_text("r005", "r004", message="changed")
    )
    repo.commit()
    reader, repository = reader_for(repo.root)
    snapshot = repository.tree("HEAD")  # type: ignore[attr-defined]
    reads = reader.read(snapshot, discover(snapshot))
    assert reader.files_parsed == 2 and reads[0].graph.heads == ("r020",)
    assert reads[0].graph.script("r005").message == "changed"


def test_corrupt_cache_is_rebuilt(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    repo.init_alembic()
    repo.migration("aaa1", None)
    repo.commit()
    assert heads_json(capsys, "-C", str(repo.root))[0] == 0
    cache_file = repo.root / ".git" / "mergeguard" / "cache-v1.json"
    header, body = cache_file.read_text().split("\n")
    namespace = json.loads(header)["namespace"]
    entries = json.loads(body)
    for key, (blob, version, _) in entries.items():
        entries[key] = [blob, version, {"bindings": [["revision", ["l", 5], None]]}]  # wrong shape
    cache_file.write_text(document_text(namespace, entries))  # a well-formed file
    # the record of the listing holds its rows: without it the rows are read
    shutil.rmtree(cache_file.parent / "records")
    code, document = heads_json(capsys, "-C", str(repo.root))
    assert code == 0 and document["environments"][0]["heads"] == ["aaa1"]
    cache_file.write_bytes(b"\x00garbage")
    shutil.rmtree(cache_file.parent / "records")
    code, document = heads_json(capsys, "-C", str(repo.root))
    assert code == 0 and document["environments"][0]["heads"] == ["aaa1"]
    assert json.loads(cache_file.read_text().split("\n")[1])


def test_alembic_file_selection_and_order(repo: RepoBuilder) -> None:
    repo.init_alembic()
    repo.migration("bbb2", "aaa1", filename="a_second.py")
    repo.migration("aaa1", None, filename="z_first.py")
    repo.write("migrations/versions/.#lock.py", "garbage (")
    repo.write("migrations/versions/__init__.py", "")
    repo.write("migrations/versions/__pycache__/x.cpython-311.py", "garbage (")
    repo.write("migrations/versions/sub/nested.py", "garbage (")  # not recursive: ignored
    repo.write("migrations/versions/readme.md", "text")
    repo.commit()
    reader, repository = reader_for(repo.root)
    snapshot = repository.tree("HEAD")  # type: ignore[attr-defined]
    [read] = reader.read(snapshot, discover(snapshot))
    assert [str(s.path.name) for s in read.scripts] == ["a_second.py", "z_first.py"]
    assert read.diagnostics == ()


def test_several_environments(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write(
        "alembic.ini", "[main]\nscript_location = db/main\n\n[audit]\nscript_location = db/audit\n"
    )
    repo.migration("m1", None, directory="db/main/versions")
    repo.migration("a1", None, directory="db/audit/versions")
    repo.migration("a2", "a1", directory="db/audit/versions")
    repo.commit()
    code, document = heads_json(capsys, "-C", str(repo.root))
    envs = {e["name"]: e["heads"] for e in document["environments"]}
    assert code == 0 and envs == {"main": ["m1"], "audit": ["a2"]}
    code, document = heads_json(capsys, "-C", str(repo.root), "-n", "audit")
    assert [e["name"] for e in document["environments"]] == ["audit"]
    code = main(["heads", "-C", str(repo.root)])
    out = capsys.readouterr().out
    assert "main" in out and "audit" in out and "a2 (head)" in out


def test_paths_with_spaces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = RepoBuilder(tmp_path / "my project")
    repo.write("alembic.ini", "[alembic]\nscript_location = data base\n")
    repo.migration("aaa1", None, directory="data base/versions", filename="first one.py")
    repo.commit()
    code, document = heads_json(capsys, "-C", str(repo.root))
    assert code == 0 and document["environments"][0]["heads"] == ["aaa1"]
