"""Hostile migration files end in bounded time with a clear MG001/MG002.

Each case once crashed the interpreter (libcst's native parser overflowing the
C stack), grew a value to gigabytes, ran for minutes on a quadratic pattern,
or raised an "internal error".  Every case runs mergeguard as a subprocess
with a time and memory limit, against a real git repository.
"""

from __future__ import annotations

import ast
import json
import resource
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import RepoBuilder, migration_text
from hypothesis import given, settings
from hypothesis import strategies as st

from mergeguard.parse.bounds import MAX_FILE_BYTES, TOO_DEEP, check_nesting
from mergeguard.parse.digest import upgrade_digest
from mergeguard.parse.operations import read_operations
from mergeguard.parse.reading import read_module
from mergeguard.parse.source import UnreadableSource
from mergeguard.parse.values import Dyn, Lit, bounded, first_unresolved

MEMORY_LIMIT = 1 << 30
TIME_LIMIT = 30
HEADER = '"""hostile\n\nRevision ID: b2\nRevises: a1\n"""\nfrom alembic import op\n'
VERSIONS = "migrations/versions"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(repo: RepoBuilder, *args: str) -> subprocess.CompletedProcess[str]:
    """mergeguard in ``repo``, bounded; asserts it ended as a linter should."""
    result = subprocess.run(
        [sys.executable, "-m", "mergeguard", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        preexec_fn=_limit_memory,
        env={"MERGEGUARD_NO_CACHE": "1", "PATH": "/usr/bin:/bin", **_pythonpath()},
    )
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1, 3), output[-2000:]
    assert "Traceback" not in output and "internal error" not in output, output[-2000:]
    return result


def _pythonpath() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "VIRTUAL_ENV")}


def hostile(repo: RepoBuilder, body: str | bytes) -> None:
    """A repository with base a1 committed, then a hostile b2 on top."""
    repo.init_alembic()
    repo.write(f"{VERSIONS}/a1_base.py", migration_text("a1", None))
    repo.commit("base")
    repo.write(f"{VERSIONS}/b2_hostile.py", body if isinstance(body, bytes) else HEADER + body)
    repo.commit("hostile")


def nested(opener: str, closer: str, depth: int) -> str:
    return f"revision = 'b2'\ndown_revision = {opener * depth}'a1'{closer * depth}\n"


# -- item 2: interpreter crashes ---------------------------------------------------


@pytest.mark.parametrize(
    ("opener", "closer", "depth"),
    [("(", ")", 2000), ("[", "]", 2000), ("f(", ")", 2000), ("[", "]", 250)],
    ids=["parens-2000", "lists-2000", "calls-2000", "lists-250"],
)
def test_deeply_nested_down_revision_is_mg001_not_a_crash(
    repo: RepoBuilder, opener: str, closer: str, depth: int
) -> None:
    hostile(repo, nested(opener, closer, depth))
    result = run(repo, "check", "HEAD~1..HEAD")
    assert result.returncode == 1
    assert f"{VERSIONS}/b2_hostile.py:8:1: MG001" in result.stdout
    assert "nested too deeply to read statically" in result.stdout
    assert "hint: simplify the expression or split the migration" in result.stdout


def test_attribute_chain_longer_than_the_recursion_limit() -> None:
    """``ast`` accepts ``a.b.b...`` 1,200 long; the reader walks it in a loop."""
    data = (HEADER + "revision = 'b2'\ndown_revision = a" + ".b" * 1200 + "\n").encode()
    facts = read_module(data)
    assert facts == read_module(data, exact=True)
    binding = facts.binding("down_revision")
    assert binding is not None and isinstance(binding.value, Dyn)
    assert binding.value.what.startswith("the name a.b.b")


def test_upgrade_nested_past_the_limit_is_an_opaque_operation() -> None:
    """100 nested calls: ``ast`` reads the header, the operations reader keeps
    the nesting limit; the schema rules get one opaque operation saying why."""
    body = "revision = 'b2'\ndown_revision = 'a1'\n\ndef upgrade():\n    op.execute("
    data = (HEADER + body + "f(" * 100 + "'x'" + ")" * 101 + "\n").encode()
    assert read_module(data).error is None
    [operation] = read_operations(data)
    assert operation.opaque and operation.reason.startswith("nested too deeply")
    assert operation.span.line == 11  # the op.execute line


@pytest.mark.parametrize(
    "expression", ["lambda: " * 3000 + "1", "-" * 100_000 + "1", "a." * 100_000 + "b"]
)
def test_upgrade_digest_of_a_body_too_deep_for_ast_is_empty(expression: str) -> None:
    """Python's parser gives up on these (MemoryError, RecursionError): the
    digest is "no digest" and the operations one opaque operation, never a
    traceback on the check path."""
    data = (HEADER + "def upgrade():\n    x = " + expression + "\n").encode()
    assert upgrade_digest(data) == ""
    [operation] = read_operations(data)
    assert operation.opaque and operation.reason.startswith(TOO_DEEP)


def test_lambda_chain_in_upgrade_is_measured_past_its_colons() -> None:
    """``lambda: lambda: ...`` at statement level nests (a top-level ``:`` does
    not start a new element); libcst is not handed it, ast reads the header."""
    body = "revision = 'b2'\ndown_revision = 'a1'\n\ndef upgrade():\n    x = "
    data = (HEADER + body + "lambda: " * 3000 + "1\n").encode()
    with pytest.raises(UnreadableSource, match="nested too deeply"):
        check_nesting(data.decode())
    [operation] = read_operations(data)
    assert operation.opaque and "nested too deeply" in operation.reason
    facts = read_module(data, exact=True)
    assert facts == read_module(data)
    assert facts.error is not None and "nested too deeply" in facts.error
    recovered = facts.binding("down_revision")
    assert recovered is not None and recovered.value == Lit("a1")  # from the tokens


def test_deep_upgrade_body_keeps_the_recovered_header(repo: RepoBuilder) -> None:
    body = "revision = 'b2'\ndown_revision = 'a1'\n\ndef upgrade():\n    "
    hostile(repo, body + "f(" * 5000 + ")" * 5000 + "\n")
    result = run(repo, "heads")
    assert "nested too deeply to read statically" in result.stdout
    assert "its header was recovered (revision 'b2', down_revision 'a1')" in result.stdout
    assert result.stdout.startswith("b2 (head)\n")  # b2 keeps its place on a1


@pytest.mark.parametrize(
    "value",
    [
        "-" * 20000 + "1",
        " + ".join(["'a'"] + ["'x'"] * 8000),
        "a" + ".b" * 10000,
        "lambda: " * 5000 + "'a1'",
    ],
    ids=["unary-20000", "plus-8000", "attributes-10000", "lambdas-5000"],
)
def test_long_operator_chains_are_mg001_naming_the_line(repo: RepoBuilder, value: str) -> None:
    hostile(repo, f"revision = 'b2'\n\n\ndown_revision = {value}\n")
    result = run(repo, "check", "HEAD~1..HEAD")
    assert f"{VERSIONS}/b2_hostile.py:10:1: MG001" in result.stdout
    assert "nested too deeply to read statically" in result.stdout


@pytest.mark.parametrize(
    ("rebinding", "times"),
    [("X = (X, X)", 30), ("X = X + X", 40), ("X = [X]", 200)],
    ids=["tuple-doubling", "string-doubling", "list-wrapping"],
)
def test_values_grown_by_rebinding_are_mg002(repo: RepoBuilder, rebinding: str, times: int) -> None:
    body = "X = 'a1'\n" + f"{rebinding}\n" * times + "revision = 'b2'\ndown_revision = X\n"
    hostile(repo, body)
    result = run(repo, "check", "HEAD~1..HEAD", "--format", "json")
    found = json.loads(result.stdout)["findings"]
    [dynamic] = [d for d in found if d["code"] == "MG002"]
    assert "to read statically" in dynamic["message"]
    assert dynamic["line"] == 9 + times  # the down_revision line


# -- item 3: slow patterns ---------------------------------------------------------


def test_revises_line_of_spaces_is_linear_and_quoted_briefly(repo: RepoBuilder) -> None:
    text = (
        '"""m\n\nRevision ID: b2\nRevises: a' + " " * 40000 + 'b\n"""\n'
        "revision = 'b2'\ndown_revision = 'a1'\n"
    )
    hostile(repo, text.encode())
    result = run(repo, "check", "HEAD~1..HEAD")
    assert "MG008" in result.stdout
    assert "characters omitted]" in result.stdout
    assert len(result.stdout) < 6000  # the 40,000 spaces are not printed


def test_repeated_unclosed_ignore_comment_is_linear(repo: RepoBuilder) -> None:
    hostile(
        repo, "revision = 'b2'\ndown_revision = 'a1'  " + "# mergeguard: ignore[" * 20000 + "\n"
    )
    result = run(repo, "check", "HEAD~1..HEAD")
    assert result.returncode == 0, result.stdout


def test_forty_thousand_assignments_of_down_revision(repo: RepoBuilder) -> None:
    hostile(repo, "revision = 'b2'\n" + "down_revision = 'zz'\n" * 40000 + "down_revision = 'a1'\n")
    result = run(repo, "heads")
    assert result.stdout.startswith("b2 (head)\n")  # the last assignment wins


def test_a_hundred_thousand_parents_are_mg002(repo: RepoBuilder) -> None:
    parents = ", ".join(f"'p{i}'" for i in range(100000))
    hostile(repo, f"revision = 'b2'\ndown_revision = ({parents})\n")
    result = run(repo, "heads")
    assert "MG002" in result.stdout and "over 10,000 parts" in result.stdout


def test_huge_id_with_thousands_of_missing_parents_prints_a_bounded_report(
    repo: RepoBuilder,
) -> None:
    parents = ", ".join(f"'m{i}'" for i in range(2000))
    hostile(repo, "revision = '" + "r" * 1_000_000 + f"'\ndown_revision = ({parents})\n")
    result = run(repo, "heads")
    assert result.stdout.count("MG004") == 21  # twenty one by one, then one for the rest
    assert "names 1,980 more revisions" in result.stdout
    assert len(result.stdout) < 1_200_000  # the id itself once, not 2,000 times
    json_run = run(repo, "check", "HEAD~1..HEAD", "--format", "json")
    assert len(json_run.stdout) < 30_000_000


def test_a_file_over_the_size_limit_is_mg001_unread(repo: RepoBuilder) -> None:
    padding = "# padding\n" * (MAX_FILE_BYTES // 10 + 1)
    hostile(repo, "revision = 'b2'\ndown_revision = 'a1'\n" + padding)
    result = run(repo, "heads")
    assert f"{VERSIONS}/b2_hostile.py:1:1: MG001" in result.stdout
    assert "too large to read statically" in result.stdout
    assert "at most 1,048,576 bytes, 1 MiB" in result.stdout
    assert "hint: simplify the expression or split the migration" in result.stdout


# -- item 6: coding cookies naming a codec that is not a text encoding --------------


@pytest.mark.parametrize("codec", ["rot13", "hex", "zlib", "base64", "uu", "punycode"])
def test_non_text_coding_cookie_is_mg001(repo: RepoBuilder, codec: str) -> None:
    hostile(repo, f"# -*- coding: {codec} -*-\nrevision = 'b2'\ndown_revision = 'a1'\n".encode())
    result = run(repo, "heads")
    assert f"{VERSIONS}/b2_hostile.py:1:1: MG001" in result.stdout
    assert codec in result.stdout


# -- the reader in-process: both readers agree, and nothing escapes ----------------


def test_nesting_libcst_cannot_take_reads_as_ast_does() -> None:
    """150 nested lists: ``ast`` parses them, libcst's visitors would not; the
    exact reading falls back to ast, so both readings agree (MG002 value)."""
    data = (HEADER + nested("[", "]", 150)).encode()
    fast, exact = read_module(data), read_module(data, exact=True)
    assert fast == exact
    binding = fast.binding("down_revision")
    assert binding is not None
    culprit = first_unresolved(binding.value)
    assert isinstance(culprit, Dyn) and "nested too deeply" in culprit.what


_LEAF = st.sampled_from(["'a1'", "None", "X", "f()", "1", "'b' 'c'"])


def _values(depth: int) -> st.SearchStrategy[str]:
    return st.recursive(
        _LEAF,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda xs: "(" + "".join(x + ", " for x in xs) + ")"),
            st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.tuples(inner, inner).map(lambda ab: f"{ab[0]} + {ab[1]}"),
            inner.map(lambda x: f"({x})"),
        ),
        max_leaves=depth,
    )


@settings(max_examples=60, deadline=None)
@given(
    value=_values(40),
    wrap=st.integers(0, 400),
    opener=st.sampled_from(["(", "[", "f(", "-", "not "]),
    rebinds=st.integers(0, 40),
)
def test_reader_survives_nested_and_oversized_values(
    value: str, wrap: int, opener: str, rebinds: int
) -> None:
    closer = {"(": ")", "[": "]", "f(": ")"}.get(opener, "")
    deep = opener * wrap + value + closer * wrap
    text = (
        f"X = {value}\n"
        + "X = (X, X + X)\n" * rebinds
        + f"revision = 'b2'\ndown_revision = {deep}\n"
    )
    data = (HEADER + text).encode()
    fast, exact = read_module(data), read_module(data, exact=True)
    assert replace(fast, error=None, error_span=None) == replace(exact, error=None, error_span=None)
    assert (fast.error is None) == (exact.error is None)
    # the text is valid Python up to CPython's own bracket limit: the reader fails
    # exactly when CPython's parser does, and says so as "nested too deeply"
    try:
        ast.parse(HEADER + text)
    except SyntaxError as python:
        assert fast.error == f"{TOO_DEEP} ({python.msg})"
    else:
        assert fast.error is None
    for binding in fast.bindings:
        assert bounded(binding.value) is binding.value  # within the value limits


def test_fuzz_script_runs_clean(tmp_path: Path) -> None:
    """benchmarks/fuzz_reader.py, a short seeded run: no crash, hang or error."""
    script = Path(__file__).parent.parent / "benchmarks" / "fuzz_reader.py"
    result = subprocess.run(
        [sys.executable, str(script), "--runs", "150", "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 crashes, 0 hangs, 0 internal errors" in result.stdout
