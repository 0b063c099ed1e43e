"""No silent "no problems found" where Alembic itself would fail (issue 10,
item 8): a script_location naming nothing, migrations in a git submodule, a
tag and a branch of the same name, a [tool.mergeguard] selector naming no
rule.  Each runs as a bounded subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ALEMBIC_INI, RepoBuilder
from test_base import diverge as diverged
from test_hostile_io import mergeguard


def test_a_script_location_that_names_nothing_is_exit_3(repo: RepoBuilder) -> None:
    repo.write("alembic.ini", ALEMBIC_INI.replace("/migrations", "/db/migrations"))
    repo.write("migrations/versions/a1_x.py", "revision = 'a1'\ndown_revision = None\n")
    repo.commit()
    for args in (("heads",), ("check",), ("graph",)):
        code, out, err = mergeguard(repo.root, *args)
        assert code == 3 and out == "", err  # was: "no problems found", exit 0
        assert "script_location db/migrations" in err and "does not exist" in err


def test_migrations_in_a_git_submodule_are_named(repo: RepoBuilder, tmp_path: Path) -> None:
    sub = RepoBuilder(tmp_path / "sub")
    sub.write("env.py", "# env\n")
    sub.write("versions/a1_x.py", "revision = 'a1'\ndown_revision = None\n")
    sub.commit()
    repo.write("alembic.ini", ALEMBIC_INI.replace("/migrations", "/db"))
    repo.git("-c", "protocol.file.allow=always", "submodule", "-q", "add", str(sub.root), "db")
    repo.commit("submodule")
    code, out, err = mergeguard(repo.root, "heads", "--ref", "HEAD")
    assert code == 3 and "git submodule db" in err and "mergeguard -C db" in err


def test_a_tag_named_like_the_branch_is_refused(repo: RepoBuilder) -> None:
    diverged(repo)
    repo.git("tag", "feature", "main")  # git would read the tag: main, no divergence
    code, out, err = mergeguard(repo.root, "check", "main..feature")
    assert code == 3 and "'feature' is ambiguous" in err and "refs/heads/feature" in err
    code, out, _ = mergeguard(repo.root, "check", "main..refs/heads/feature")
    assert code == 1 and "MG102" in out


@pytest.mark.parametrize("key", ["select", "ignore"])
def test_a_project_selector_naming_no_rule_is_a_usage_error(repo: RepoBuilder, key: str) -> None:
    diverged(repo)
    repo.write("pyproject.toml", f'[tool.mergeguard]\n{key} = ["MG1O2"]\n')
    result = subprocess.run(
        [sys.executable, "-m", "mergeguard", "check", "main..feature"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "MG1O2" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("spec", ["%(here)900000000s", "%(here)r", "%d"])
def test_a_toml_percent_spec_other_than_here_is_refused_at_once(
    repo: RepoBuilder, spec: str
) -> None:
    """Python's ``%`` would build a string as wide as the spec says (900 MB,
    minutes); only ``%(here)s`` and ``%%`` are read, the rest is exit 3."""
    repo.write("pyproject.toml", f'[tool.alembic]\nscript_location = "{spec}/migrations"\n')
    repo.write("migrations/versions/a1_x.py", "revision = 'a1'\ndown_revision = None\n")
    repo.commit()
    code, out, err = mergeguard(repo.root, "heads")
    assert code == 3 and out == "", err
    assert "pyproject.toml: script_location in [tool.alembic]" in err
    assert "only %(here)s and %% are read" in err and len(err) < 2000


def test_toml_here_and_a_literal_percent_are_read(repo: RepoBuilder) -> None:
    repo.write(
        "pyproject.toml",
        '[tool.alembic]\nscript_location = "%(here)s/migrations"\n'
        'file_template = "%%(rev)s_100%%%%"\n',
    )
    repo.write("migrations/versions/a1_x.py", "revision = 'a1'\ndown_revision = None\n")
    repo.commit()
    code, out, err = mergeguard(repo.root, "heads")
    assert code == 0 and "a1" in out, err
