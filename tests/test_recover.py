"""The tolerant header reader: files no parser reads keep their place in the graph.

Python 2 migrations and files with a syntax error below the header still get
MG001, but their header is read from tokens when it is unambiguous, so their
children are not orphans and a fork below them is still found.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest
from conftest import STYLES, RepoBuilder, migration_text
from hypothesis import given, settings
from hypothesis import strategies as st

from mergeguard.app.cli import main
from mergeguard.model import MigrationScript
from mergeguard.parse.header import read_script
from mergeguard.parse.header_ast import read_ast
from mergeguard.parse.header_tokens import recover_header, scan
from mergeguard.parse.reading import read_module
from mergeguard.parse.source import UnreadableSource
from mergeguard.parse.values import HEADER_NAMES, Lit, Seq, facts_from_json, facts_to_json

PATH = PurePosixPath("migrations/versions/b2_legacy.py")

# Python 2 constructs, each of which stops both ast and libcst.
PYTHON2_BODIES = {
    "print": 'print "upgrading"',
    "except-comma": "try:\n    pass\nexcept Exception, e:\n    print e",
    "exec": 'exec "x = 1"',
    "backticks": "name = `op`",
    "octal": "mode = 0777",
    "ur-string": "sql = ur'select 1'",
    "long-and-ne": "assert 10L <> 11L",
    "raise-comma": 'raise ValueError, "bad data"',
}


def python2_migration(style: str, body: str, **kwargs: object) -> str:
    return migration_text("b2", "a1", style=style, upgrade=body, **kwargs)  # type: ignore[arg-type]


def read(text: str) -> tuple[MigrationScript | None, list[str], list[str]]:
    """(script, codes, messages) of ``text`` read as a migration."""
    result = read_script(read_module(text.encode()), PATH)
    return (
        result.script,
        [d.code for d in result.diagnostics],
        [d.message for d in result.diagnostics],
    )


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("body", PYTHON2_BODIES.values(), ids=PYTHON2_BODIES.keys())
def test_python2_migration_keeps_its_header(style: str, body: str) -> None:
    text = python2_migration(style, body, branch_labels=("legacy",), depends_on="x9")
    with pytest.raises(SyntaxError):
        ast.parse(text)
    result = read_script(read_module(text.encode()), PATH)
    script = result.script
    assert script is not None
    assert (script.revision, script.down_revisions) == ("b2", ("a1",))
    assert (script.branch_labels, script.depends_on) == (("legacy",), ("x9",))
    assert script.message == "revision b2" and script.doc_revises == ("a1",)
    [problem] = result.diagnostics
    assert problem.code == "MG001" and problem.severity == "error"
    assert "cannot be read: syntax error" in problem.message
    assert "its header was recovered (revision 'b2', down_revision 'a1')" in problem.message
    assert problem.location is not None and problem.location.path == PATH
    lines = text.splitlines()
    assert problem.location.line > lines.index(next(x for x in lines if x.startswith("depends")))
    assert problem.revisions == ("b2",)


RECOVERED = [
    # a syntax error below the header, not Python 2 at all
    ("revision = 'b2'\ndown_revision = 'a1'\n\ndef upgrade(:\n    pass\n", ("b2", ("a1",))),
    ("revision = 'b2'\ndown_revision = None\nx = (\n", ("b2", ())),
    ("revision = 'b2'\ndown_revision = None\nx = '''never closed\n", ("b2", ())),
    # values: implicit concatenation, tuples and lists, parentheses, prefixes
    ("revision = 'b' '2'\ndown_revision = ('a' \"1\", u'a0')\nprint 'x'\n", ("b2", ("a1", "a0"))),
    ("revision = ('b2')\ndown_revision = ['a1']\nprint 'x'\n", ("b2", ("a1",))),
    ("revision = ur'b2'\ndown_revision = 'a1', 'a0',\nprint 'x'\n", ("b2", ("a1", "a0"))),
    (
        "revision = (\n    'b2'\n)\ndown_revision = (\n    'a1',  # first\n)\nprint 'x'\n",
        ("b2", ("a1",)),
    ),
    ("revision = 'b2'; down = 1\ndown_revision = ()\nprint 'x'\n", ("b2", ())),
    # annotated template, also with a bare annotation and a read of the name
    ("revision: str = 'b2'\ndown_revision: Union[str, None] = 'a1'\nprint 'x'\n", ("b2", ("a1",))),
    ("revision: str\nrevision = 'b2'\ndown_revision = None\nprint revision\n", ("b2", ())),
    # a header name in strings, comments and attributes is no assignment
    (
        "'''revision = 1'''\nrevision = 'b2'  # revision = 3\ndown_revision = None\n"
        "op.revision = 2\nprint 'revision = 4'\n",
        ("b2", ()),
    ),
    # Windows line endings
    ("revision = 'b2'\r\ndown_revision = 'a1'\r\nprint 'x'\r\n", ("b2", ("a1",))),
]


@pytest.mark.parametrize(("source", "expected"), RECOVERED)
def test_unambiguous_headers_are_recovered(source: str, expected: tuple[object, ...]) -> None:
    script, codes, messages = read(source)
    assert codes == ["MG001"] and "header was recovered" in messages[0]
    assert script is not None
    assert (script.revision, script.down_revisions) == expected


NOT_RECOVERED = {
    "assigned twice": "revision = 'b2'\nrevision = 'b3'\ndown_revision = 'a1'\nprint 'x'\n",
    "down twice": "revision = 'b2'\ndown_revision = 'a1'\ndown_revision = 'a0'\nprint 'x'\n",
    "conditional": "revision = 'b2'\nif X:\n    down_revision = 'a1'\nelse:\n"
    "    down_revision = None\nprint 'x'\n",
    "one-line if": "revision = 'b2'\ndown_revision = None\nif X: down_revision = 'a1'\nprint 'x'\n",
    "try block": "revision = 'b2'\ndown_revision = None\ntry:\n    down_revision = 'a0'\n"
    "except E, e:\n    pass\n",
    "call": "revision = 'b2'\ndown_revision = get_down_revision()\nprint 'x'\n",
    "name": "PREV = 'a1'\nrevision = 'b2'\ndown_revision = PREV\nprint 'x'\n",
    "plus": "revision = 'b' + '2'\ndown_revision = None\nprint 'x'\n",
    "f-string": "revision = f'b{2}'\ndown_revision = None\nprint 'x'\n",
    "bytes": "revision = b'b2'\ndown_revision = None\nprint 'x'\n",
    "escape": "revision = 'b2\\x41'\ndown_revision = None\nprint 'x'\n",
    "number": "revision = 'b2'\ndown_revision = None\nbranch_labels = 1\nprint 'x'\n",
    "None in tuple": "revision = 'b2'\ndown_revision = ('a1', None)\nprint 'x'\n",
    "nested tuple": "revision = 'b2'\ndown_revision = (('a1',),)\nprint 'x'\n",
    "chained": "revision = down_revision = 'b2'\nprint 'x'\n",
    "unpacking": "revision, down_revision = 'b2', 'a1'\nprint 'x'\n",
    "augmented": "revision = 'b'\nrevision += '2'\ndown_revision = None\nprint 'x'\n",
    "indented": "revision = 'b2'\ndown_revision = None\ndef upgrade():\n"
    "    down_revision = 'a1'\n    print 'x'\n",
    "class body": "revision = 'b2'\ndown_revision = None\nclass C:\n    revision = 'c'\n",
    "global": "revision = 'b2'\ndown_revision = None\ndef f():\n    global revision\n",
    "import": "revision = 'b2'\ndown_revision = None\nfrom x import revision\nprint 'x'\n",
    "for target": "revision = 'b2'\ndown_revision = None\nfor revision in x: pass\nprint 'x'\n",
    "except target": "revision = 'b2'\ndown_revision = None\ntry:\n    pass\n"
    "except E, revision:\n    pass\n",
    "walrus": "revision = 'b2'\ndown_revision = None\nprint (revision := 'c')\n",
    "after semicolon": "x = 1; revision = 'b2'\ndown_revision = None\nprint 'x'\n",
    "backslash line": "x = \\\nrevision = 'b2'\ndown_revision = None\nprint 'x'\n",
    "inside brackets": "x = (\nrevision = 'b2'\ndown_revision = None\n",
    "inside a string": "x = '''\nrevision = 'b2'\ndown_revision = None\n",
    "block without body": "if X:\nrevision = 'b2'\ndown_revision = None\n",
    "no down_revision": "revision = 'b2'\nprint 'x'\n",
    "no revision": "down_revision = 'a1'\nprint 'x'\n",
    "tab indented": "\trevision = 'b2'\n\tdown_revision = None\nprint 'x'\n",
    "unterminated value": "revision = 'b2'\ndown_revision = 'a1\nprint 'x'\n",
}


@pytest.mark.parametrize("source", NOT_RECOVERED.values(), ids=NOT_RECOVERED.keys())
def test_ambiguous_headers_are_not_recovered(source: str) -> None:
    source += "print 'legacy'\n"
    with pytest.raises(SyntaxError):
        ast.parse(source)
    script, codes, messages = read(source)
    assert script is None and codes == ["MG001"]
    assert "cannot be read" in messages[0] and "recovered" not in messages[0]


def test_exact_reading_recovers_too_and_facts_survive_the_cache() -> None:
    text = python2_migration("plain", 'print "x"').encode()
    facts = read_module(text, exact=True)
    assert facts.error is not None and facts.binding("revision") is not None
    assert facts.bindings == read_module(text).bindings
    assert facts_from_json(json.loads(json.dumps(facts_to_json(facts)))) == facts


def test_ignore_comment_on_a_recovered_down_revision() -> None:
    facts = read_module(
        b"revision = 'b2'\ndown_revision = 'a1'  # mergeguard: ignore[MG101]\nprint 1\n"
    )
    assert facts.ignores == ("MG101",)


# -- the reader agrees with Python where Python can parse -------------------------------

FRAGMENTS = [
    "revision = 'a'\n",
    "revision: str = 'b'\n",
    "down_revision = None\n",
    "down_revision = ('a', 'b')\n",
    "down_revision = ['c'] # mergeguard: ignore[MG004]\n",
    "branch_labels = 'x' 'y'\n",
    "depends_on = (\n  'd',\n)\n",
    "depends_on = x.y\n",
    "'''doc\nstring'''\n",
    "u'doc'\n",
    "def upgrade():\n    revision = 1\n",
    "if x:\n",
    "    down_revision = 'z'\n",
    "else:\n    pass\n",
    "x = revision\n",
    "print(revision)\n",
    "(\n",
    ")\n",
    "revision, q = 1, 2\n",
    "revision += 'x'\n",
    "for revision in y: pass\n",
    "import revision\n",
    "\\\n",
    "# revision = 'c'\n",
    "x = 1; down_revision = 'q'\n",
    "'\n",
]


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=10))
@settings(max_examples=400, deadline=None)
def test_recovered_headers_agree_with_the_parser(parts: list[str]) -> None:
    """On text Python parses, whatever the scan recovers is what ast reads."""
    text = "".join(parts)
    recovered = recover_header(text)
    try:
        parsed = read_ast(text)
    except UnreadableSource:
        return  # text Python cannot parse has nothing to agree with
    if recovered is None:
        return
    for name in HEADER_NAMES:
        assert recovered.binding(name) == parsed.binding(name), name
    assert recovered.ignores == parsed.ignores
    if recovered.docstring is not None:
        assert (recovered.docstring, recovered.docstring_span) == (
            parsed.docstring,
            parsed.docstring_span,
        )


@given(st.text(max_size=300))
@settings(max_examples=400, deadline=None)
def test_no_text_makes_the_scan_raise(text: str) -> None:
    recover_header(text)
    assert list(scan(text))[-1].kind == "end"


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_no_bytes_make_reading_raise(data: bytes) -> None:
    read_script(read_module(b"revision = 'b2'\ndown_revision = None\nprint 'x'\n" + data), PATH)


HEADER = "revision = 'b2'\ndown_revision = 'a1'\n"
HOSTILE = {
    "deep brackets": HEADER + "x = " + "(" * 300_000 + "\n",
    "deep brackets in the value": "revision = 'b2'\ndown_revision = " + "(" * 300_000 + "\n",
    "long value": "revision = 'b2'\ndown_revision = (" + "'a', " * 200_000 + ")\nprint 1\n",
    "unterminated triple quote": HEADER + "x = '''" + "\\'" * 300_000,
    "many short strings": HEADER + "print " + "'' " * 300_000 + "\n",
    "one huge line": HEADER + "print " + "x" * 2_000_000 + "\n",
    "many lines": HEADER + "print 'x'\n" * 200_000,
    "quotes": HEADER + "'" * 500_000,
    "backslashes": HEADER + "\\" * 500_000,
    "NUL characters": HEADER + "print '\0'\n" + "\0" * 300_000,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_read_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    facts = recover_header(text)
    assert time.perf_counter() - started < 10  # a quadratic scan takes hours here
    expected_recovery = not text.startswith("revision = 'b2'\ndown_revision = (")
    assert (facts is not None) is expected_recovery
    if facts is not None:
        assert facts.binding("revision").value == Lit("b2")  # type: ignore[union-attr]
        assert facts.binding("down_revision").value == Lit("a1")  # type: ignore[union-attr]


def test_a_merge_revision_keeps_both_parents() -> None:
    facts = recover_header("revision = 'm'\ndown_revision = ('a', 'b')\nprint 'x'\n")
    assert facts is not None
    assert facts.binding("down_revision").value == Seq((Lit("a"), Lit("b")))  # type: ignore[union-attr]


# -- end to end: a real repository, real git, the command line ----------------------------

LEGACY_BODY = 'print "upgrading legacy"\ntry:\n    pass\nexcept Exception, e:\n    print e'


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def legacy_history(repo: RepoBuilder, style: str, prelude: str = "") -> None:
    """main: a1 -> b2 (Python 2) -> c3; feature then adds d4 on c3 and main e5 on c3."""
    repo.init_alembic()
    repo.migration("a1", None, style=style)
    repo.write(
        "migrations/versions/b2_legacy.py",
        migration_text("b2", "a1", style=style, upgrade=LEGACY_BODY, prelude=prelude),
    )
    repo.migration("c3", "b2", style=style)
    repo.commit("history with a Python 2 migration")
    repo.branch("feature")
    repo.migration("d4", "c3", style=style)
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("e5", "c3", style=style)
    repo.commit("main moves on")
    repo.checkout("feature")


def findings(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]]]:
    code, out = run(capsys, *args, "--format", "json")
    return code, json.loads(out)["findings"]


def test_fork_below_a_python2_migration_is_still_found(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy_history(repo, style)
    root = str(repo.root)

    code, out = run(capsys, "heads", "-C", root)
    assert out.splitlines()[0] == "d4 (head)" and "c3 (head)" not in out
    assert "MG004" not in out
    assert "MG001" in out and "its header was recovered (revision 'b2'" in out

    code, found = findings(capsys, "check", "main..feature", "-C", root)
    codes = {f["code"] for f in found}
    assert code == 1 and "MG102" in codes and "MG004" not in codes
    [fork] = [f for f in found if f["code"] == "MG102"]
    assert "diverging at c3" in str(fork["message"])
    assert {"d4", "e5"} <= set(fork["revisions"])  # type: ignore[arg-type]

    # the file is touched (a comment), and a second head appears in the working tree
    legacy = repo.root / "migrations/versions/b2_legacy.py"
    legacy.write_text(legacy.read_text() + "# still Python 2\n")
    repo.migration("f6", "c3", style=style)
    code, found = findings(capsys, "check", "-C", root)
    by_code = {str(f["code"]): f for f in found}
    assert code == 1 and {"MG001", "MG101"} <= set(by_code) and "MG004" not in by_code
    assert "header was recovered" in str(by_code["MG001"]["message"])
    assert by_code["MG001"]["path"] == "migrations/versions/b2_legacy.py"
    assert {"d4", "f6"} <= set(by_code["MG101"]["revisions"])  # type: ignore[arg-type]


def test_warm_cache_gives_the_same_recovered_header(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy_history(repo, "plain")
    cold = run(capsys, "heads", "-C", str(repo.root))
    cache = Path(repo.git("rev-parse", "--git-common-dir"))
    cache = (cache if cache.is_absolute() else repo.root / cache) / "mergeguard"
    assert any(cache.iterdir())
    assert run(capsys, "heads", "-C", str(repo.root)) == cold
    assert "d4 (head)" in cold[1] and "header was recovered" in cold[1]


def test_checking_a_python2_migration_runs_none_of_its_code(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentinel = tmp_path / "sentinel"
    payload = f"open({str(sentinel)!r}, 'w').write('ran')\nprint 'ran'\n"
    legacy_history(repo, "plain", prelude=payload)
    root = str(repo.root)
    for args in (["heads"], ["graph"], ["check", "main..feature"], ["check"]):
        code, out = run(capsys, *args, "-C", root)
        # plain `check` judges the checked-out feature against the local main: the fork
        assert code == 1 and "MG004" not in out
    result = subprocess.run(
        [sys.executable, "-m", "mergeguard", "heads"], cwd=repo.root, capture_output=True, text=True
    )
    assert result.returncode == 1 and result.stdout.startswith("d4 (head)\n")
    assert not sentinel.exists()
    # the payload does run when the file is executed (as Python 2 would): proof it is live
    python3_payload = payload.replace("print 'ran'\n", "")
    exec(compile(python3_payload, "payload", "exec"), {})
    assert sentinel.read_text() == "ran"
