"""The static reader: header values, both readers equal, every bad input named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import PurePosixPath

import pytest
from conftest import STYLES, migration_text
from hypothesis import given, settings
from hypothesis import strategies as st

from mergeguard.parse.header import doc_message, doc_revises, read_script
from mergeguard.parse.header_ast import read_ast
from mergeguard.parse.header_cst import read_cst
from mergeguard.parse.reading import read_module
from mergeguard.parse.source import UnreadableSource, decode
from mergeguard.parse.values import Dyn, Lit, Ref, Seq, facts_from_json, facts_to_json

PATH = PurePosixPath("migrations/versions/x.py")


def header(text: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    result = read_script(read_module(text.encode()), PATH)
    assert result.script is not None, result.diagnostics
    s = result.script
    return s.revision, s.down_revisions, s.branch_labels, s.depends_on


HEADER_CASES = [
    ("revision = 'a'\ndown_revision = None\n", ("a", (), (), ())),
    ('revision = "a"\ndown_revision = "b"\n', ("a", ("b",), (), ())),
    ("revision = 'a' 'b'\ndown_revision = ('x' 'y', 'z')\n", ("ab", ("xy", "z"), (), ())),
    (
        "revision: str = 'a'\ndown_revision: Union[str, Sequence[str], None] = ['b', 'c']\n",
        ("a", ("b", "c"), (), ()),
    ),
    (
        "revision = 'a'\ndown_revision = ()\nbranch_labels = 'x'\ndepends_on = ('d',)\n",
        ("a", (), ("x",), ("d",)),
    ),
    ("PREV = 'p'\nrevision = 'a'\ndown_revision = PREV\n", ("a", ("p",), (), ())),
    ("revision = 'a'\nrevision = 'b'\ndown_revision = None\n", ("b", (), (), ())),
    (
        "revision = 'a'\ndown_revision = 'x'\nbranch_labels = ('neutron-' + 'expand',)\n",
        ("a", ("x",), ("neutron-expand",), ()),
    ),
    ("revision = 'a'; down_revision = None\n", ("a", (), (), ())),
    ("revision = down_revision = 'a'\ndown_revision = None\n", ("a", (), (), ())),
    ("revision = 'a'\ndown_revision = ('b', 'b')\n", ("a", ("b",), (), ())),
    (
        "revision = (\n    'a'\n)\ndown_revision = (\n  'b',  # first\n  'c',\n)\n",
        ("a", ("b", "c"), (), ()),
    ),
]


@pytest.mark.parametrize(("source", "expected"), HEADER_CASES)
def test_header_values(source: str, expected: tuple[object, ...]) -> None:
    assert header(source) == expected


@pytest.mark.parametrize(("source", "_"), HEADER_CASES)
def test_both_readers_agree(source: str, _: object) -> None:
    assert read_ast(source) == read_cst(source)


READER_FIXTURES = [
    migration_text("abc", ("p1", "p2"), style=style, branch_labels=("x", "y"), depends_on="q")
    for style in STYLES
] + [
    '"""Doc."""\nfrom neutron.db.migration import cli\nfrom . import consts as C\n'
    "import a.b.c\nimport pkg.mod as m\n"
    "revision = 'r'\ndown_revision = C.PREV  # mergeguard: ignore[MG101]\n"
    "branch_labels = (cli.EXPAND_BRANCH,)\ndepends_on = 'n-' + a.b.c.X + m.Y\n",
    "try:\n    from x import y\nexcept ImportError:\n    y = None\nrevision = 'a'\n"
    "if y:\n    down_revision = 'b'\nelse:\n    down_revision = None\n",
    "revision = 'a'\ndown_revision = get_down_revision(revision)\nbranch_labels = f'{x}'\n"
    "depends_on = 1\nz = b'x'\nw = True\nv = ...\nu = -1\n",
    "revision = 'a'\ndown_revision = None\nrevision += 'x'\nfor i in range(2): pass\n"
    "@decorator\ndef f(): pass\nclass C: pass\ndel f\nq, r = 1, 2\n",
    "u'''unicode doc'''\nrevision = u'a'\ndown_revision = (*x,)\n",
    "revision = 'é'\ndown_revision = None  # α comment\n",
]


@pytest.mark.parametrize("source", READER_FIXTURES)
def test_both_readers_agree_on_fixtures(source: str) -> None:
    assert read_ast(source) == read_cst(source)


def test_reader_facts_round_trip_through_json() -> None:
    for source in READER_FIXTURES:
        facts = read_ast(source)
        assert facts_from_json(facts_to_json(facts)) == facts


def test_imported_names_become_references() -> None:
    facts = read_ast(READER_FIXTURES[2])
    assert facts.binding("down_revision").value == Ref(".consts.PREV", "C.PREV")  # type: ignore[union-attr]
    assert facts.binding("branch_labels").value == Seq(  # type: ignore[union-attr]
        (Ref("neutron.db.migration.cli.EXPAND_BRANCH", "cli.EXPAND_BRANCH"),)
    )
    assert facts.ignores == ("MG101",)


@pytest.mark.parametrize("breaks", ["\x0c\n", "x = 1  # \x1c\x1d\x1e\x85\u2028\u2029\n"])
def test_the_down_revision_waiver_counts_lines_as_ast_does(breaks: str) -> None:
    """Only \\n, \\r\\n and \\r end a line for ``ast``, libcst and the
    tokenizer; ``str.splitlines`` would shift the waiver's line."""
    source = (
        f"{breaks}revision = 'b2'\ndown_revision = 'a1'  # mergeguard: ignore[MG101]\n"
        "branch_labels = None\n"
    )
    assert read_ast(source).ignores == ("MG101",)
    assert read_ast(source, short_cut=False).ignores == ("MG101",)
    assert read_cst(source).ignores == ("MG101",)


@pytest.mark.parametrize(
    ("source", "name", "what"),
    [
        (
            "revision = 'a'\ndown_revision = get_down_revision(revision)\n",
            "down_revision",
            "a call to get_down_revision()",
        ),
        ("revision = 'a'\ndown_revision = f'{x}'\n", "down_revision", "an f-string"),
        ("revision = 'a'\ndown_revision = PREV\n", "down_revision", "the name PREV"),
        (
            "revision = 'a'\ndown_revision = None\nbranch_labels = os.environ['X']\n",
            "branch_labels",
            "an expression that is not a literal",
        ),
        ("revision = make_id()\ndown_revision = None\n", "revision", "a call to make_id()"),
        (
            "revision = 'a'\nif X:\n    down_revision = 'b'\n",
            "down_revision",
            "assigned inside an if block",
        ),
    ],
)
def test_dynamic_header_is_mg002_with_line(source: str, name: str, what: str) -> None:
    result = read_script(read_module(source.encode()), PATH)
    codes = [(d.code, d.location.line if d.location else None) for d in result.diagnostics]
    line = next(
        i
        for i, text in enumerate(source.splitlines(), 1)
        if text.lstrip().startswith((name + " ", name + ":", name + "="))
        or (name == "down_revision" and "if X" in text)
    )
    assert ("MG002", line) in codes
    message = next(d.message for d in result.diagnostics if d.code == "MG002")
    assert what in message and str(PATH) in message


def test_dynamic_down_revision_keeps_the_revision_in_the_graph() -> None:
    source = "revision = 'a'\ndown_revision = get_down_revision(revision)\n"
    result = read_script(read_module(source.encode()), PATH)
    assert result.script is not None and result.script.complete is False


@pytest.mark.parametrize(
    ("data", "fragment", "line"),
    [
        (b"revision = 'a'\nprint 'hello'\n", "Python 2", 2),
        (b"revision = 'a'\ndef upgrade(:\n", "syntax error", 2),
        (b"revision = 'a'\x00\x01\x02", "binary file", 1),
        (b"revision = 'a'\ndown_revision = '\xff\xfe'\n", "not valid utf-8", 2),
        (b"# -*- coding: klingon -*-\nrevision = 'a'\n", "coding", 1),
    ],
)
def test_unreadable_files_are_mg001_with_line(data: bytes, fragment: str, line: int) -> None:
    result = read_script(read_module(data), PATH)
    assert result.script is None
    [problem] = result.diagnostics
    assert problem.code == "MG001"
    assert fragment in problem.message
    assert problem.location is not None and problem.location.line == line


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"\n\n# nothing here\n", "empty"),
        (
            b'"""Helpers for migrations."""\n\ndef helper():\n    pass\n',
            "no module-level `revision`",
        ),
    ],
)
def test_non_migrations_are_mg001(data: bytes, fragment: str) -> None:
    [problem] = read_script(read_module(data), PATH).diagnostics
    assert problem.code == "MG001" and fragment in problem.message


def test_missing_down_revision_is_reported() -> None:
    result = read_script(read_module(b"revision = 'a'\n"), PATH)
    assert [d.code for d in result.diagnostics] == ["MG001"]
    assert "down_revision" in result.diagnostics[0].message


def test_empty_string_down_revision_is_a_base_with_a_warning() -> None:
    result = read_script(read_module(b"revision = 'a'\ndown_revision = ''\n"), PATH)
    assert result.script is not None and result.script.down_revisions == ()
    [warning] = result.diagnostics
    assert warning.severity == "warning" and warning.location.line == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("revision = None\ndown_revision = None\n", "must be a string"),
        ("revision = ('a', 'b')\ndown_revision = None\n", "must be a string"),
    ],
)
def test_non_string_revision_is_mg007(source: str, fragment: str) -> None:
    result = read_script(read_module(source.encode()), PATH)
    assert result.script is None
    assert [d.code for d in result.diagnostics] == ["MG007"]
    assert fragment in result.diagnostics[0].message


def test_bad_label_values_are_reported() -> None:
    result = read_script(
        read_module(b"revision = 'a'\ndown_revision = None\nbranch_labels = ('',)\n"), PATH
    )
    assert [d.code for d in result.diagnostics] == ["MG002"]


def test_python2_file_falls_back_and_still_fails_cleanly() -> None:
    facts = read_module(b"revision = 'a'\nexec 'x'\n")
    assert facts.error is not None and "Python 2" in facts.error


def test_coding_cookie_and_bom_are_honoured() -> None:
    latin = "# -*- coding: latin-1 -*-\nrevision = 'caf\xe9'\ndown_revision = None\n"
    script = read_script(read_module(latin.encode("latin-1")), PATH).script
    assert script is not None and script.revision == "café"
    assert decode(latin.encode("latin-1")).endswith("None\n")
    assert read_module(b"\xef\xbb\xbfrevision = 'a'\ndown_revision = None\n").binding("revision")


def test_decode_rejects_binary() -> None:
    with pytest.raises(UnreadableSource):
        decode(b"\x00\x01")


def test_docstring_message_and_revises_line() -> None:
    doc = "Add users\ntable\n\nRevision ID: abc\nRevises: p1, p2\nCreate Date: x\n"
    assert doc_message(doc) == "Add users\ntable"
    assert doc_revises(doc) == ("p1", "p2")
    assert doc_revises("Revises: ('p1', 'p2')") == ("p1", "p2")
    assert doc_revises("Revises: \n") == ()
    assert doc_revises("no such line") is None


def test_script_fields_in_both_template_styles() -> None:
    for style in STYLES:
        text = migration_text("r2", "r1", style=style, message="Add users", branch_labels="x")
        result = read_script(read_module(text.encode()), PATH, blob="b" * 40)
        script = result.script
        assert script is not None and result.diagnostics == ()
        assert (script.revision, script.down_revisions, script.branch_labels) == (
            "r2",
            ("r1",),
            ("x",),
        )
        assert script.message == "Add users"
        assert script.doc_revision_id == "r2" and script.doc_revises == ("r1",)
        assert script.spans.down_revision is not None
        assert text.splitlines()[script.spans.down_revision.line - 1].startswith("down_revision")


def test_values_used_in_messages() -> None:
    assert read_ast("x = 1\n").binding("x").value == Dyn("a number")  # type: ignore[union-attr]
    assert read_ast("x = None\n").binding("x").value == Lit(None)  # type: ignore[union-attr]


FRAGMENTS = [
    "revision = 'a'\n",
    "down_revision = None\n",
    "down_revision = ('a', 'b')\n",
    "branch_labels = x.y\n",
    "from . import c\n",
    "import a.b as c\n",
    "def upgrade():\n",
    "    pass\n",
    "if x:\n",
    "try:\n",
    "except E:\n",
    "'''doc\n",
    '"""\n',
    "(\n",
    ")\n",
    "revision: str\n",
    "depends_on = f'{a}'\n",
    "del revision\n",
    "\t",
    "\\\n",
    "# c\n",
    "revision += 'x'\n",
    "x, y = z\n",
    "lambda: (yield)\n",
    "print 'x'\n",
]


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12))
@settings(max_examples=300, deadline=None)
def test_no_arrangement_of_fragments_raises(parts: list[str]) -> None:
    text = "".join(parts)
    facts = read_module(text.encode())
    read_script(facts, PATH)
    # libcst counts lines one short after a line holding only a "\\" continuation
    # (a libcst quirk on input no one writes); everywhere else the readers agree.
    if facts.error is None and not any(line.strip() == "\\" for line in text.splitlines()):
        assert read_module(text.encode(), exact=True) == facts


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_no_bytes_raise(data: bytes) -> None:
    read_script(read_module(data), PATH)


def test_cache_rows_round_trip() -> None:
    import json

    from mergeguard.parse.script_rows import script_from_row, script_to_row

    for style in STYLES:
        text = migration_text("r2", ("r1", "r0"), style=style, branch_labels="x", depends_on="d")
        text = text.replace("down_revision", "down_revision", 1)
        script = read_script(read_module(text.encode()), PATH, blob="b" * 40).script
        assert script is not None and script.spans.doc_revises is not None
        row = json.loads(json.dumps(script_to_row(script)))
        assert script_from_row(row, PATH, "b" * 40) == script


# -- the ast reader's short cut (parse.header_split) ---------------------------

_HEAD = '"""doc\n\nRevision ID: a1\n"""\nrevision = "a1"\ndown_revision = None\n\n\n'
_BODY = "def upgrade():\n" + "    op.add_column('t', sa.Column('c', sa.Integer()))\n" * 8


def _short_cut_agrees(text: str) -> bool:
    """Whether the short cut was taken; either way it reads what the full parse reads."""
    from mergeguard.parse.header_ast import read_ast
    from mergeguard.parse.header_split import parse_head, split_point
    from mergeguard.parse.source import UnreadableSource

    def outcome(short_cut: bool) -> object:
        try:
            return read_ast(text, short_cut=short_cut)
        except UnreadableSource as exc:
            return exc.message, exc.span

    assert outcome(True) == outcome(False)
    split = split_point(text)
    return split is not None and parse_head(text, split) is not None


def test_short_cut_taken_for_an_ordinary_migration() -> None:
    text = _HEAD + _BODY + "\n\ndef downgrade():\n    op.drop_column('t', 'c')\n"
    assert _short_cut_agrees(text)
    assert read_module(text.encode()).binding("revision") is not None


@pytest.mark.parametrize(
    "text",
    [
        # the split line inside a string of the head: the head does not parse
        _HEAD + 'x = """\n' + _BODY + '"""\nrevision = "b2"\n',
        # a decorator above the first def: the head ends in the decorator
        _HEAD + "@register\n" + _BODY,
        # a header name bound after the defs (plain, in a block, by a def, by import)
        _HEAD + _BODY + 'revision = "b2"\n',
        _HEAD + _BODY + 'if True:\n    down_revision = "b2"\n',
        _HEAD + _BODY + "def branch_labels():\n    pass\n",
        _HEAD + _BODY + "from x import depends_on\n",
        # a def's own name rebound after it (spelled twice)
        _HEAD + _BODY + 'upgrade = "x"\n',
        # a header name inside an assignment target: the full reader takes it as
        # rebound (Dyn), symtable as a mere reference (the review's three cases)
        _HEAD + _BODY + "(x.y, d[revision]) = 1, 2\n",
        _HEAD + _BODY + "if True:\n    d[revision] = 1\n",
        _HEAD + _BODY + "for d[down_revision] in []:\n    pass\n",
        # a syntax error in a body: the full parse reports it
        _HEAD + _BODY + "    print 'python 2'\n",
        _HEAD + _BODY + "    x = (\n",
        # a module-level statement symtable refuses but ast accepts
        _HEAD + _BODY + "nonlocal q\n",
        # spellings that only NFKC makes equal; a future that changes parsing
        _HEAD + _BODY + "ｕpgrade = 1\n",
        "from __future__ import barry_as_FLUFL\n" + _HEAD + _BODY + "    1 <> 2\n",
    ],
)
def test_short_cut_bails_out(text: str) -> None:
    assert not _short_cut_agrees(text)


def test_short_cut_error_is_the_full_parse_error() -> None:
    facts = read_module((_HEAD + _BODY + "    print 'python 2'\n").encode())
    assert facts.error is not None and "syntax" in facts.error
    assert facts.binding("revision") is not None  # recovered from the tokens, as before


_DYING_WORKER = """
import os, sys
from mergeguard.parse.parallel import PARALLEL_THRESHOLD, in_parallel

PARENT = os.getpid()

def dies_in_a_worker(chunk):
    if os.getpid() != PARENT:
        os._exit(1)  # as if killed: the out-of-memory killer, a segfault
    return [len(data) for data in chunk]

sources = [b"x" * n for n in range(PARALLEL_THRESHOLD + 50)]
found = in_parallel(dies_in_a_worker, len(sources), lambda start, stop: sources[start:stop])
assert found == [len(s) for s in sources]
print("read")
"""


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="the parse workers run only with a second core",
)
def test_a_parse_worker_that_dies_does_not_hang_the_read() -> None:
    """A multiprocessing Pool waits forever for a worker that died; the read
    must end, with the dead worker's files read in this process instead."""
    done = subprocess.run(
        [sys.executable, "-c", _DYING_WORKER],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "read", done.stderr


_CHILDREN = """
import os, signal, sys, time
from mergeguard.parse import parallel
from mergeguard.parse.parallel import PARALLEL_THRESHOLD, in_parallel

parallel._SILENCE_SECONDS = 2.0  # a stuck child is given up on soon

PARENT = os.getpid()
HOW = sys.argv[1]
sources = [b"x" * n for n in range(PARALLEL_THRESHOLD + 700)]
pieces = []

def read(chunk):
    if HOW == "child dies after a piece" and os.getpid() != PARENT and pieces:
        os._exit(1)
    pieces.append(len(chunk))
    return [(os.getpid(), len(data)) for data in chunk]

def load(start, stop):
    in_child = os.getpid() != PARENT
    if HOW == "load fails in a child" and in_child:
        raise OSError("cannot read the blobs")  # as git failing there
    if HOW == "child killed" and in_child:
        os.kill(os.getpid(), signal.SIGKILL)
    if HOW == "child hangs" and in_child:
        time.sleep(3600)  # as a child stuck on a lock it inherited
    if HOW == "load fails here too" and not in_child:
        raise ValueError("cannot read the blobs here either")
    return sources[start:stop]

try:
    found = in_parallel(read, len(sources), load)
except ValueError as exc:
    print("raised:", exc)
else:
    assert [n for _, n in found] == [len(s) for s in sources], "out of order"
    readers = {pid for pid, _ in found}
    print("read by", "children too" if readers != {PARENT} else "this process alone")
try:
    os.waitpid(-1, os.WNOHANG)
    print("a child is left")
except ChildProcessError:
    pass
"""


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="the parse workers run only with a second core",
)
@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("children work", "read by children too"),
        # a failed child's chunk is loaded and read here: the whole answer,
        # in order, and nothing of the child's failure on stderr
        ("load fails in a child", "read by this process alone"),
        ("child killed", "read by this process alone"),
        # a child that sends nothing is killed after the silence: no hang
        ("child hangs", "read by this process alone"),
        # what it sent whole is kept, the rest read here
        ("child dies after a piece", "read by children too"),
        # the chunk fails here too: the caller gets the error, no child is left
        ("load fails here too", "raised: cannot read the blobs here either"),
    ],
)
def test_parse_children_give_the_whole_answer_or_the_error(how: str, expected: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILDREN, how],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, expected, "")


def test_a_cached_row_beyond_what_a_reader_writes_is_refused() -> None:
    from mergeguard.parse import script_rows
    from mergeguard.parse.script_rows import script_from_row, script_to_row

    text = migration_text("r2", ("r1",))
    script = read_script(read_module(text.encode()), PATH, blob="b" * 40).script
    assert script is not None
    good = script_to_row(script)
    assert script_from_row(good, PATH, "b" * 40, bounded=True) == script
    long = "x" * (script_rows.MAX_ROW_TEXT + 1)
    too_many = ["r"] * (script_rows.MAX_ROW_ITEMS + 1)
    far = script_rows.MAX_ROW_POSITION + 1
    spans = good[5]
    assert isinstance(spans, list)
    implausible = {
        "negative position": {5: [-1, *spans[1:]]},
        "far position": {5: [far, *spans[1:]]},
        "long revision": {0: long},
        "long message": {4: long},
        "long parent": {1: [long]},
        "long label": {2: [long]},
        "long dependency": {3: [long]},
        "too many items": {8: too_many},
    }
    for name, changes in implausible.items():
        row = [changes.get(i, value) for i, value in enumerate(good)]
        with pytest.raises(ValueError):
            script_from_row(row, PATH, "b" * 40, bounded=True)
        # the same row as the reader's own (unbounded) decoding reads it: only
        # the limits refuse it, so each case tests its own limit
        assert script_from_row(row, PATH, "b" * 40).revision == row[0], name
    damaged = [*good[:1], "not a list", *good[2:]]
    for bounded in (False, True):
        with pytest.raises(ValueError):
            script_from_row(damaged, PATH, "b" * 40, bounded=bounded)
