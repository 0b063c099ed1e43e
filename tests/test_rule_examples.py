"""Every rule's examples, built as real git repositories in both template styles:
``mergeguard check main..feature`` must report exactly what the example says."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from conftest import RepoBuilder, migration_text

from mergeguard.app.cli import main
from mergeguard.rules.catalogue import RULES
from mergeguard.rules.docs import markdown
from mergeguard.rules.example_kit import Deployed, Example, Rev

VERSIONS = "migrations/versions"
UNSET_VARIABLE = "MERGEGUARD_TEST_URL_NEVER_SET"  # an example's unreachable database
CASES = [
    pytest.param(
        rule.code, example, id=f"{rule.code}-{'bad' if example.shows(rule.code) else 'good'}-{i}"
    )
    for rule in RULES
    for i, example in enumerate(rule.examples)
]


def write(repo: RepoBuilder, rev: Rev, style: str) -> None:
    path = f"{VERSIONS}/{rev.filename}"
    if rev.delete:
        repo.remove(path)
        return
    if rev.text is not None:
        repo.write(path, rev.text)
        return
    text = migration_text(
        rev.revision,
        rev.down,
        upgrade=rev.upgrade,
        style=style,
        message=rev.message,
        branch_labels=rev.labels or None,
        depends_on=rev.depends_on or None,
    )
    if rev.doc_revises is not None:
        text = re.sub(r"^Revises: .*$", f"Revises: {rev.doc_revises}", text, flags=re.M)
    repo.write(path, text)


def deploy(repo: RepoBuilder, databases: tuple[Deployed, ...]) -> None:
    """Each deployed database a SQLite file beside the repository, its
    version table holding what the example says, configured in pyproject.toml."""
    lines = ["[tool.mergeguard.databases]"]
    for database in databases:
        if database.unreachable:  # its URL in a variable that is not set
            lines.append(f'{database.name} = "env:{UNSET_VARIABLE}"')
            continue
        path = repo.root.parent / "deployed" / f"{database.name}.db"
        write_version_table(path, database.current)
        lines.append(f'{database.name} = "sqlite:///{path}"')
    repo.write("pyproject.toml", "\n".join(lines) + "\n")


def write_version_table(
    path: Path, current: tuple[str, ...] | None, *, fresh: bool = False
) -> None:
    """A SQLite database as Alembic leaves it (``current`` None: never
    migrated); ``fresh`` replaces a database already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        path.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("CREATE TABLE app_data (id INTEGER PRIMARY KEY)")
        if current is not None:
            connection.execute(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
            connection.executemany(
                "INSERT INTO alembic_version VALUES (?)", [(row,) for row in current]
            )


def build(repo: RepoBuilder, example: Example, style: str) -> None:
    """main holds ``base``; feature adds ``ours``; main then adds ``theirs``."""
    repo.init_alembic()
    if example.databases:
        deploy(repo, example.databases)
    for rev in example.base:
        write(repo, rev, style)
    repo.commit("base")
    repo.branch("feature")
    for rev in example.ours:
        write(repo, rev, style)
    repo.commit("feature")
    repo.checkout("main")
    for rev in example.theirs:
        write(repo, rev, style)
    repo.commit("main")


@pytest.mark.parametrize(("code", "example"), CASES)
def test_rule_example(
    repo: RepoBuilder,
    style: str,
    code: str,
    example: Example,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(UNSET_VARIABLE, raising=False)
    build(repo, example, style)
    exit_code = main(["check", "main..feature", "-C", str(repo.root), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert sorted({f["code"] for f in findings}) == sorted(example.expect), findings
    assert exit_code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    files = set(repo.git("ls-tree", "-r", "--name-only", "feature").splitlines())
    files |= set(repo.git("ls-tree", "-r", "--name-only", "main").splitlines())
    for finding in findings:
        assert finding["hint"]
        if finding["code"] in ("MG401", "MG403"):  # about a database, not a file
            assert finding["path"] is None, finding
            continue
        assert finding["path"] in files and finding["line"] >= 1


def test_every_static_rule_has_a_bad_and_a_good_example() -> None:
    for rule in (r for r in RULES if r.code < "MG300"):
        kinds = {example.shows(rule.code) for example in rule.examples}
        assert kinds == {True, False}, rule.code


def test_every_rule_is_documented() -> None:
    for rule in RULES:
        assert rule.what and rule.why and rule.fix, rule.code
        assert re.fullmatch(r"MG\d{3}", rule.code) and re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.name)


def test_docs_rules_md_is_generated_from_the_catalogue() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    assert docs.read_text() == markdown(), "run: mergeguard rules --markdown > docs/rules.md"


def test_readme_rule_table_is_generated() -> None:
    from mergeguard.rules.docs import markdown_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("<!-- rules:start -->\n")[1].split("\n<!-- rules:end -->")[0]
    assert section == "\n".join(markdown_table("docs/rules.md"))


def test_rules_and_explain_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert all(rule.code in out for rule in RULES)
    assert main(["rules", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown()
    assert main(["explain", "missing-merge-point"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("MG102 missing-merge-point") and "Example (bad)" in out
    assert main(["explain", "mg999"]) == 2
