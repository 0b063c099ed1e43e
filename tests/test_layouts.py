"""Layouts found in the wild (issue 9, item 10).

openstack neutron computes ``version_locations`` in Python: per-release
sub-directories (``versions/2023.1/expand/...``) under one versions directory,
on labelled expand/contract lines, and no ini says so.  ``--versions DIR
--recursive`` and ``[tool.mergeguard] versions`` / ``recursive_versions``
describe it; real Alembic with ``recursive_version_locations = true`` is the
oracle.  Also ``-C`` before the command, as git takes it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path, PurePosixPath

import pytest
from conftest import ALEMBIC_INI, RepoBuilder

from mergeguard.app.cli import main
from mergeguard.config.discovery import discover
from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import MemoryTree

SCRIPT = "neutron/db/migration/alembic_migrations"
VERSIONS = f"{SCRIPT}/versions"
NEUTRON_INI = ALEMBIC_INI.replace(
    "script_location = %(here)s/migrations", f"script_location = %(here)s/{SCRIPT}"
)
RECURSIVE = "[tool.mergeguard]\nrecursive_versions = true\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def neutron(repo: RepoBuilder, pyproject: str | None = RECURSIVE) -> None:
    """Two releases of expand/contract lines, each release in its own directory."""
    repo.write("alembic.ini", NEUTRON_INI)
    repo.write(f"{SCRIPT}/env.py", "# computes version_locations in Python\n")
    if pyproject is not None:
        repo.write("pyproject.toml", pyproject)
    repo.migration("start1", None, directory=VERSIONS, message="initial")
    repo.migration(
        "exp001", "start1", directory=f"{VERSIONS}/2023.1/expand", branch_labels="expand"
    )
    repo.migration(
        "con001", "start1", directory=f"{VERSIONS}/2023.1/contract", branch_labels="contract"
    )
    repo.migration("exp002", "exp001", directory=f"{VERSIONS}/2023.2/expand")
    repo.migration("con002", "con001", directory=f"{VERSIONS}/2023.2/contract")
    repo.commit("two releases")


def alembic_heads(root: Path, recursive: bool) -> list[str]:
    """The oracle: real Alembic on the same files."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = Config(str(root / "alembic.ini"))
        if recursive:
            config.set_main_option("recursive_version_locations", "true")
        return sorted(ScriptDirectory.from_config(config).get_heads())


def heads_of(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code, out, err = run(capsys, "heads", "--format", "json", *args)
    assert code in (0, 1), err
    [environment] = json.loads(out)["environments"]
    return code, sorted(environment["heads"])


# -- recursive_versions / --recursive ------------------------------------------------


def test_recursive_versions_setting_reads_release_directories_as_alembic_does(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    neutron(repo)
    expected = alembic_heads(repo.root, recursive=True)
    assert expected == ["con002", "exp002"]
    code, heads = heads_of(capsys, "-C", str(repo.root))
    assert (code, heads) == (0, expected)  # labelled expand/contract lines: no MG101


def test_without_recursion_only_the_top_directory_is_read(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    neutron(repo, pyproject=None)
    assert alembic_heads(repo.root, recursive=False) == ["start1"]
    assert heads_of(capsys, "-C", str(repo.root))[1] == ["start1"]
    assert heads_of(capsys, "-C", str(repo.root), "--recursive")[1] == ["con002", "exp002"]


def test_versions_dir_recursive_on_the_command_line(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    neutron(repo, pyproject=None)
    where = ("-C", str(repo.root), "--versions", VERSIONS)
    assert heads_of(capsys, *where)[1] == ["start1"]
    assert heads_of(capsys, *where, "--recursive")[1] == ["con002", "exp002"]


def test_a_fork_on_the_expand_line_of_a_release_directory_is_mg102(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    neutron(repo)
    repo.branch("feature")
    repo.migration("exp003", "exp002", directory=f"{VERSIONS}/2024.1/expand")
    repo.commit("feature: expand")
    repo.checkout("main")
    repo.migration("exp004", "exp002", directory=f"{VERSIONS}/2024.1/expand")
    repo.commit("main: expand")
    code, out, _ = run(capsys, "check", "main..feature", "-C", str(repo.root), "--format", "json")
    [finding] = json.loads(out)["findings"]
    assert code == 1 and finding["code"] == "MG102"
    assert "branch label 'expand'" in finding["message"]
    assert finding["path"] == f"{VERSIONS}/2024.1/expand/exp003_migration.py"
    assert sorted(finding["revisions"]) == ["exp003", "exp004"]


# -- [tool.mergeguard] versions ----------------------------------------------------------


def test_versions_setting_replaces_the_directories_and_keeps_the_script_location() -> None:
    files = {
        "alembic.ini": NEUTRON_INI,
        f"{SCRIPT}/env.py": "",
        "pyproject.toml": '[tool.mergeguard]\nversions = ["db/revs", "./db/more/"]\n',
    }
    [env] = discover(MemoryTree({PurePosixPath(k): v for k, v in files.items()})).environments
    assert env.version_locations == (PurePosixPath("db/revs"), PurePosixPath("db/more"))
    assert env.script_location == PurePosixPath(SCRIPT)  # fix --merge finds script.py.mako
    assert env.recursive is False


def test_versions_setting_without_any_ini(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", '[tool.mergeguard]\nversions = ["db/revs"]\n')
    repo.migration("aaa1", None, directory="db/revs")
    repo.migration("bbb2", "aaa1", directory="db/revs")
    repo.commit()
    assert heads_of(capsys, "-C", str(repo.root)) == (0, ["bbb2"])


def test_versions_setting_on_the_neutron_layout_in_a_sub_directory(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    neutron(
        repo, f'[tool.mergeguard]\nversions = ["{VERSIONS}/2023.1"]\nrecursive_versions = true\n'
    )
    # only the 2023.1 release: exp002/con002 name parents elsewhere, start1 is not read
    code, out, _ = run(capsys, "heads", "--format", "json", "-C", str(repo.root))
    [environment] = json.loads(out)["environments"]
    assert sorted(environment["revisions"]) == ["con001", "exp001"]


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ('versions = ["../elsewhere"]', "lies outside the repository"),
        ('versions = ["db/../../x"]', "lies outside the repository"),
        ('versions = ["/etc/versions"]', "is an absolute path"),
        ('versions = "db/revs"', "must be a list of strings"),
        ('recursive_versions = "yes"', "recursive_versions must be true or false"),
    ],
)
def test_bad_versions_settings_are_clear_errors(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], value: str, said: str
) -> None:
    repo.init_alembic()
    repo.write("pyproject.toml", f"[tool.mergeguard]\n{value}\n")
    repo.commit()
    code, out, err = run(capsys, "heads", "-C", str(repo.root))
    assert code == 3 and out == "" and "Traceback" not in err
    assert said in err and "pyproject.toml" in err and "[tool.mergeguard]" in err


def test_versions_setting_with_two_environments_asks_which() -> None:
    files = {
        "a/alembic.ini": "[alembic]\nscript_location = m\n",
        "b/alembic.ini": "[alembic]\nscript_location = m\n",
        "pyproject.toml": '[tool.mergeguard]\nversions = ["db/revs"]\n',
    }
    with pytest.raises(MergeguardError) as caught:
        discover(MemoryTree({PurePosixPath(k): v for k, v in files.items()}))
    assert "2 were found" in caught.value.message
    assert caught.value.hint is not None and "environments" in caught.value.hint


# -- -C before the command -----------------------------------------------------------


def test_dash_c_before_the_command_as_git_takes_it(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    neutron(repo)
    expected = ["con002", "exp002"]
    assert heads_of(capsys, "-C", str(repo.root))[1] == expected  # after, as before
    code, out, err = run(capsys, "-C", str(repo.root), "heads", "--format", "json")
    assert code == 0, err
    assert sorted(json.loads(out)["environments"][0]["heads"]) == expected
    # both: a relative -C after the command is taken inside the first, as in git
    code, out, err = run(capsys, "-C", str(tmp_path), "heads", "-C", "repo", "--format", "json")
    assert code == 0, err
    # an absolute one replaces it
    code, out, err = run(capsys, "-C", "/nonexistent", "heads", "-C", str(repo.root))
    assert code == 0, err
    code, _, err = run(capsys, "-C", str(tmp_path / "missing"), "heads", "-C", "repo")
    assert code == 3 and "missing" in err and "does not exist" in err


def test_dash_c_before_check_and_with_a_relative_config(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    neutron(repo)
    code, out, err = run(capsys, "-C", str(tmp_path), "check", "-C", "repo", "-c", "alembic.ini")
    assert code == 0 and out == "", err


def test_apply_reads_the_release_sub_directories(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scratch database runs every revision of the recursive layout: Alembic
    there must be told ``recursive_version_locations`` too."""
    neutron(repo)
    code, out, err = run(capsys, "apply", "-C", str(repo.root), "--format", "json")
    assert code == 0, out + err
    assert json.loads(out)["findings"] == []  # was MG301: "Can't locate revision 'exp002'"
    assert "3 paths run" in err
