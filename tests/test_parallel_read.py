"""A cold read of many files shares the parsing with forked children
(``mergeguard.parse.parallel``), each loading its own blobs from git: the
environment read must be the one this process alone gives, also when a
child cannot read its blobs."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest
from conftest import RepoBuilder

from mergeguard.config.discovery import discover
from mergeguard.errors import MergeguardError
from mergeguard.git.opening import open_repository
from mergeguard.git.trees import ObjectSnapshot
from mergeguard.graph.cache import ParseCache
from mergeguard.graph.environments import CACHE_NAMESPACE, EnvironmentRead, Reader
from mergeguard.model import FileEntry, SourceFile
from mergeguard.parse import parallel

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="the parse children run only with a second core",
)

COUNT = parallel.PARALLEL_THRESHOLD + 60
IMPORTING = '''"""imports its parent's id"""
from migrations.ids import PARENT

revision = "x001"
down_revision = PARENT


def upgrade():
    pass


def downgrade():
    pass
'''


@pytest.fixture
def many(repo: RepoBuilder) -> RepoBuilder:
    """More migrations than one process reads alone, with the files whose
    reading is not a row: an imported id, a syntax error; and one blob at
    two paths (a copied file)."""
    repo.init_alembic()
    for i in range(COUNT):
        repo.migration(f"r{i:04}", f"r{i - 1:04}" if i else None)
    repo.write("migrations/ids.py", f'PARENT = "r{COUNT - 1:04}"\n')
    repo.write("migrations/versions/x001_imports.py", IMPORTING)
    repo.write("migrations/versions/broken.py", "revision = 'r9'\ndown_revision = f(\n")
    copied = (repo.root / "migrations/versions/r0010_migration.py").read_text()
    repo.write("migrations/versions/zz_copy_of_r0010.py", copied)
    repo.commit()
    return repo


def summary(read: EnvironmentRead) -> tuple[object, ...]:
    return (
        [(str(s.path), s.blob, s.revision, s.down_revisions, s.spans) for s in read.scripts],
        read.diagnostics,
        read.graph.heads,
    )


def read_at_head(repo: RepoBuilder, snapshot: ObjectSnapshot | None = None) -> EnvironmentRead:
    snapshot = snapshot or open_repository(repo.root).tree("HEAD")
    [read] = Reader(ParseCache(None, CACHE_NAMESPACE)).read(snapshot, discover(snapshot))
    return read


def test_a_read_shared_with_children_equals_a_read_here_alone(
    many: RepoBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = summary(read_at_head(many))
    monkeypatch.setattr(parallel, "PARALLEL_THRESHOLD", 10**9)
    alone = summary(read_at_head(many))
    assert shared == alone
    scripts, diagnostics, heads = shared
    assert isinstance(scripts, list) and len(scripts) == COUNT + 2
    assert ("migrations/versions/x001_imports.py", f"r{COUNT - 1:04}") in [
        (path, down[0]) for path, _, _, down, _ in scripts if down
    ]
    assert diagnostics  # the syntax error, the duplicated revision
    assert heads == ("x001",)


def test_a_child_that_cannot_read_its_blobs_leaves_them_to_this_process(
    many: RepoBuilder, capfd: pytest.CaptureFixture[str]
) -> None:
    expected = summary(read_at_head(many))
    snapshot = open_repository(many.root).tree("HEAD")
    assert isinstance(snapshot, ObjectSnapshot)
    parent, read_many = os.getpid(), snapshot.read_many

    def fails_in_a_child(entries: Sequence[FileEntry]) -> tuple[SourceFile, ...]:
        if os.getpid() != parent:
            raise MergeguardError("git cat-file failed: as if the repository broke there")
        return read_many(entries)

    snapshot.read_many = fails_in_a_child  # type: ignore[method-assign]
    assert summary(read_at_head(many, snapshot)) == expected
    assert capfd.readouterr().err == ""  # nothing of the child's failure printed
