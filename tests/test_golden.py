"""Golden text outputs of ``mergeguard check``: the exact bytes a user reads.

Each case builds a fixed history, runs ``python -m mergeguard check`` with no
colour and a fixed width, replaces commit ids and the temporary directory by
placeholders, and compares stdout, stderr and the exit code with
``tests/golden/<case>.txt``. ``UPDATE_GOLDEN=1`` rewrites the files instead
(review the diff before committing it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RepoBuilder

from mergeguard.app import demo

GOLDEN = Path(__file__).parent / "golden"
ENV = {"NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}
HEX = re.compile(r"\b[0-9a-f]{7,40}\b")
USERS = "op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True))"
ADD_EMAIL = "op.add_column('users', sa.Column('email', sa.String(255)))"


def demo_history(repo: RepoBuilder) -> list[str]:
    """``mergeguard demo``'s repository: two branches add a revision on one parent."""
    demo.build(repo.root)
    return ["check", demo.RANGE]


def schema_conflict(repo: RepoBuilder) -> list[str]:
    """main and feature each add the same column to ``users`` on parent a1."""
    repo.init_alembic()
    repo.migration("a1", None, upgrade=USERS)
    repo.commit("base")
    repo.branch("feature")
    repo.migration("c7", "a1", upgrade=ADD_EMAIL)
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("b2", "a1", upgrade=ADD_EMAIL)
    repo.commit("main")
    return ["check", "main..feature"]


def clean_range(repo: RepoBuilder) -> list[str]:
    """feature continues main's only head: nothing to report."""
    repo.init_alembic()
    repo.migration("a1", None, upgrade=USERS)
    repo.commit("base")
    repo.branch("feature")
    repo.migration("b2", "a1", upgrade=ADD_EMAIL)
    repo.commit("feature")
    return ["check", "main..feature"]


def staged_two_heads(repo: RepoBuilder) -> list[str]:
    """Two new revisions on a1 in the index: the commit would make two heads."""
    repo.init_alembic()
    repo.migration("a1", None)
    repo.commit("base")
    repo.migration("b2", "a1")
    repo.migration("c3", "a1")
    repo.git("add", "-A")
    return ["check", "--staged"]


CASES: dict[str, Callable[[RepoBuilder], list[str]]] = {
    "check_demo": demo_history,
    "check_schema_conflict": schema_conflict,
    "check_clean_range": clean_range,
    "check_staged_two_heads": staged_two_heads,
}


def placeholders(text: str, repo: RepoBuilder) -> str:
    """Commit ids (full or abbreviated) as <commit-N>, in the history's order; the
    repository's directory as <repo>."""
    commits = repo.git("rev-list", "--all", "--reverse", "--topo-order").split()

    def name(match: re.Match[str]) -> str:
        word = match.group(0)
        for number, sha in enumerate(commits, 1):
            if sha.startswith(word):
                return f"<commit-{number}>"
        return word  # some other hex word (a revision id): kept

    return HEX.sub(name, text.replace(str(repo.root.resolve()), "<repo>"))


def transcript(repo: RepoBuilder, args: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mergeguard", *args],
        cwd=repo.root,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return placeholders(
        f"$ mergeguard {' '.join(args)}\n[exit {done.returncode}]\n"
        f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}",
        repo,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_output_matches_its_golden_file(repo: RepoBuilder, case: str) -> None:
    os.environ.pop("FORCE_COLOR", None)  # NO_COLOR decides; a CI's FORCE_COLOR must not
    text = transcript(repo, CASES[case](repo))
    golden = GOLDEN / f"{case}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text)
    assert golden.is_file(), f"{golden} is missing: run with UPDATE_GOLDEN=1"
    assert text == golden.read_text(), f"{case} differs from {golden.name} (UPDATE_GOLDEN=1)"
