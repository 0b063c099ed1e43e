"""The parse cache never changes an answer: no cache, cold cache and warm cache agree.

Histories come from ``benchmarks/generate.py`` (verified there with Alembic),
made once per session: one environment of 200 revisions and a monorepo of
three services of 50 (one of them diverging, one where only ``feature`` adds
revisions).  Every command runs as a real ``python -m mergeguard`` subprocess
in the generated repository, so this test does not depend on how the cache is
laid out: only on the documented switch (``MERGEGUARD_NO_CACHE=1``) and
location (``$(git rev-parse --git-common-dir)/mergeguard/``).

Corrupt, stale and foreign cache files are tests/test_cache.py's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
END_MARK = "    # ### end Alembic commands ###"
COMMANDS = {
    "heads": ("heads", "--format", "json"),
    "graph": ("graph", "--format", "json"),
    "check": ("check", "main..feature", "--format", "json"),
}
STAGED = ("check", "--staged", "--format", "json")
TIMEOUT = 120


@dataclass(frozen=True)
class History:
    """A generated repository and what its manifest says Alembic found in it."""

    repo: Path
    manifest: dict[str, object]

    @property
    def cache(self) -> Path:
        return self.repo / ".git" / "mergeguard"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def generate(out: Path, *options: str) -> History:
    subprocess.run(
        [sys.executable, str(BENCHMARKS / "generate.py"), "--out", str(out), *options],
        check=True,
        capture_output=True,
        timeout=300,
    )
    manifest = json.loads((out / ".git" / "mergeguard-bench.json").read_text())
    return History(out, manifest)


@pytest.fixture(scope="session")
def single(tmp_path_factory: pytest.TempPathFactory) -> History:
    return generate(tmp_path_factory.mktemp("single") / "repo", "--revisions", "200")


@pytest.fixture(scope="session")
def monorepo(tmp_path_factory: pytest.TempPathFactory) -> History:
    return generate(
        tmp_path_factory.mktemp("monorepo") / "repo", "--revisions", "50", "--environments", "3"
    )


@pytest.fixture(params=["single", "monorepo"])
def history(request: pytest.FixtureRequest) -> History:
    found: History = request.getfixturevalue(request.param)
    return found


def environ(mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MERGEGUARD_", "PRE_COMMIT"))}
    env["NO_COLOR"] = "1"
    if mode == "off":
        env["MERGEGUARD_NO_CACHE"] = "1"
    return env


def mergeguard(repo: Path, args: tuple[str, ...], mode: str) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "mergeguard", *args],
        cwd=repo,
        env=environ(mode),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def three_modes(history: History, args: tuple[str, ...]) -> dict[str, Run]:
    """The same command with no cache, then on a cold cache, then on the warm one."""
    shutil.rmtree(history.cache, ignore_errors=True)
    runs = {"no cache": mergeguard(history.repo, args, "off")}
    assert not history.cache.exists(), "MERGEGUARD_NO_CACHE=1 wrote a cache"
    runs["cold"] = mergeguard(history.repo, args, "cold")
    assert any(history.cache.iterdir()), "the cold run left no cache to be warm from"
    runs["warm"] = mergeguard(history.repo, args, "warm")
    return runs


def assert_same(runs: dict[str, Run]) -> dict[str, object]:
    """Every mode printed the same bytes and exit code, nothing on stderr; the JSON."""
    reference = runs["no cache"]
    assert "Traceback" not in reference.stderr
    for mode, run in runs.items():
        assert (run.code, run.stderr) == (reference.code, ""), mode
        assert run.stdout == reference.stdout, f"{mode} differs from no cache"
    document: dict[str, object] = json.loads(reference.stdout)
    return document


def heads_by_environment(document: dict[str, object]) -> dict[str, list[str]]:
    environments = document["environments"]
    assert isinstance(environments, list)
    return {env["name"]: sorted(env["heads"]) for env in environments}


def expected_heads(history: History, side: str) -> dict[str, list[str]]:
    """What Alembic found, per environment name as mergeguard names them."""
    if "environments" not in history.manifest:
        heads = history.manifest["heads"]
        assert isinstance(heads, dict)
        return {"alembic": sorted(heads[side])}
    services = history.manifest["environments"]
    assert isinstance(services, dict)
    return {
        f"services/{name}:alembic": sorted(svc["heads"][side]) for name, svc in services.items()
    }


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_cache_cold_and_warm_agree(history: History, command: str) -> None:
    runs = three_modes(history, COMMANDS[command])
    document = assert_same(runs)
    if command in ("heads", "graph"):
        assert heads_by_environment(document) == expected_heads(history, "main")
        return
    assert runs["warm"].code == 1  # the finding is an error
    findings = document["findings"]
    assert isinstance(findings, list)
    diverging = history.manifest.get("diverging", [])
    assert isinstance(diverging, list)
    want = {f"services/{name}:alembic" for name in diverging} or {"alembic"}
    assert sorted(f["code"] for f in findings) == ["MG102"] * len(want), findings
    assert {f["environment"] for f in findings} == want


NEW_REVISION = '''\
"""a branch started on an old parent

Revision ID: feedc0ffee01
Revises: {parent}
"""
from alembic import op
import sqlalchemy as sa

revision = 'feedc0ffee01'
down_revision = '{parent}'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('{table}', sa.Column('staged_note', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('{table}', 'staged_note')
'''


def staged_clone(history: History, tmp_path: Path) -> Path:
    """A clone of ``history`` at main whose index holds two changes: the main head's
    migration edited (a column added), and a new revision on the head's parent,
    which makes a second head (MG101)."""
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(history.repo), str(clone)], check=True, capture_output=True
    )
    relative = Path(str(history.manifest["main_head_file"]))
    path = clone / relative
    original = path.read_text()
    upgrade, rest = original.split(END_MARK, 1)
    table = re.findall(r"op\.(?:add_column|create_table)\('(\w+)'", upgrade)[0]
    added = f"    op.add_column('{table}', sa.Column('staged_note', sa.Text(), nullable=True))\n"
    path.write_text(upgrade + added + END_MARK + rest)
    parent = re.findall(r"^down_revision\b[^=]*= '([0-9a-f]{12})'", original, re.M)[0]
    new = relative.parent / "feedc0ffee01_a_branch_started_on_an_old_parent.py"
    (clone / new).write_text(NEW_REVISION.format(parent=parent, table=table))
    subprocess.run(["git", "-C", str(clone), "add", str(relative), str(new)], check=True)
    return clone


def test_staged_changes_agree(history: History, tmp_path: Path) -> None:
    clone = History(staged_clone(history, tmp_path), history.manifest)
    runs = three_modes(clone, STAGED)
    document = assert_same(runs)
    findings = document["findings"]
    assert isinstance(findings, list)
    assert "MG101" in {f["code"] for f in findings}, findings
    assert any("feedc0ffee01" in f.get("revisions", []) for f in findings), findings


def test_concurrent_cold_runs_agree_and_leave_a_valid_cache(single: History) -> None:
    """Four cold runs at once: the same answer, no warning, and a cache the next run
    reads without a note.  (Whether a reader can meet a half-written file is timing:
    that atomic replacement is tests/test_cache.py's to hold.)"""
    args = COMMANDS["check"]
    reference = mergeguard(single.repo, args, "off")
    shutil.rmtree(single.cache, ignore_errors=True)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "mergeguard", *args],
            cwd=single.repo,
            env=environ("cold"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    runs = {"no cache": reference}
    for i, process in enumerate(processes):
        stdout, stderr = process.communicate(timeout=TIMEOUT)
        runs[f"concurrent {i}"] = Run(process.returncode, stdout, stderr)
    runs["warm afterwards"] = mergeguard(single.repo, args, "warm")
    assert_same(runs)
    assert any(single.cache.iterdir())
