"""mergeguard.fix.merge_file against real Alembic as the oracle.

Each oracle test makes a real Alembic project with ``alembic.command.init``
(``generic``, ``pyproject``, ``async``, ``multidb``), creates two heads with
``command.revision``, lets ``command.merge`` write the merge revision, and
checks that ``merge_file`` -- given the project's own template, the
``Environment`` that ``mergeguard.config.discovery.discover`` reads from the project's
files, the same heads, message and rev id -- names the file the same and
produces the same bytes.  The create date is taken from Alembic's file;
the comparisons without it ignore only the ``Create Date:`` line.
"""

from __future__ import annotations

import ast
import io
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from mergeguard.config.discovery import discover
from mergeguard.fix.merge_file import (
    TemplateConfig,
    default_create_date,
    file_name,
    merge_file,
    new_rev_id,
    slug,
    version_directory,
)
from mergeguard.git.snapshot import MemoryTree
from mergeguard.model import Environment

P = PurePosixPath
MESSAGE = "merge the two heads"
REV_ID = "abcdef123456"
CUSTOM = {
    "file_template": "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s",
    "truncate_slug_length": "20",
    "timezone": "UTC",
}
TIMED = {"file_template": "%%(epoch)s_%%(hour).2d%%(minute).2d%%(second).2d_%%(rev)s_%%(slug)s"}
CREATE_DATE = re.compile(rb"^Create Date: (.*?)\r?$", re.MULTILINE)


# ---------------------------------------------------------------- real projects


@dataclass
class Project:
    """A real Alembic project in ``root`` with its Alembic and mergeguard views."""

    root: Path
    template: str

    def config(self) -> AlembicConfig:
        """A fresh Alembic Config (re-reads the files on each call)."""
        toml = self.root / "pyproject.toml"
        return AlembicConfig(
            str(self.root / "alembic.ini"),
            toml_file=str(toml) if toml.exists() else None,
            stdout=io.StringIO(),
        )

    def environment(self) -> Environment:
        """The environment mergeguard discovers in the project's files."""
        files: dict[str | PurePosixPath, bytes | str] = {
            path.relative_to(self.root).as_posix(): path.read_bytes()
            for path in self.root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        }
        environments = discover(MemoryTree(files)).environments
        assert len(environments) == 1, environments
        return environments[0]

    def template_bytes(self, env: Environment) -> bytes:
        assert env.script_location is not None
        return (self.root / env.script_location / "script.py.mako").read_bytes()

    def relative(self, path: str | Path) -> PurePosixPath:
        return P(Path(path).resolve().relative_to(self.root.resolve()).as_posix())


def make_project(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    template: str,
    options: Mapping[str, str] | None = None,
) -> Project:
    """``alembic init`` of ``template`` in a fresh directory, with ``options``
    written where the template keeps its settings (ini or ``[tool.alembic]``)."""
    root = tmp_path / f"project_{template}"
    root.mkdir()
    monkeypatch.chdir(root)  # relative paths: init writes %(here)s-based locations
    config = AlembicConfig("alembic.ini", toml_file="pyproject.toml", stdout=io.StringIO())
    command.init(config, "migrations", template=template)
    project = Project(root, template)
    if options:
        _configure(project, options)
    return project


def _configure(project: Project, options: Mapping[str, str]) -> None:
    toml = project.root / "pyproject.toml"
    if toml.exists():
        lines = "".join(f'{key} = "{value}"\n' for key, value in options.items())
        lines = lines.replace('"20"', "20")  # truncate_slug_length is a TOML integer
        text = toml.read_text().replace("[tool.alembic]\n", "[tool.alembic]\n" + lines, 1)
        toml.write_text(text)
        return
    ini = project.root / "alembic.ini"
    lines = "".join(f"{key} = {value}\n" for key, value in options.items())
    ini.write_text(ini.read_text().replace("[alembic]\n", "[alembic]\n" + lines, 1))


def two_heads(project: Project, where: Mapping[str, str] | None = None) -> None:
    """base -> left, base -> right (two heads), with ``command.revision``;
    ``where`` names the version directory of each ("base", "left", "right")."""
    config = project.config()
    paths = where or {}
    command.revision(
        config, message="create base", rev_id="base00000001", version_path=paths.get("base")
    )
    command.revision(
        config,
        message="left side",
        rev_id="left00000002",
        head="base00000001",
        version_path=paths.get("left"),
    )
    command.revision(
        config,
        message="right side",
        rev_id="right0000003",
        head="base00000001",
        splice=True,
        version_path=paths.get("right"),
    )


def alembic_merge(
    project: Project, message: str | None, branch_label: str | None = None
) -> tuple[PurePosixPath, bytes]:
    """What ``alembic merge -m MESSAGE --rev-id ID heads`` writes: (path, bytes)."""
    script = command.merge(
        project.config(), "heads", message=message, rev_id=REV_ID, branch_label=branch_label
    )
    assert script is not None
    return project.relative(script.path), Path(script.path).read_bytes()


def down_revision(data: bytes) -> tuple[str, ...]:
    """The heads in the order Alembic wrote them into ``down_revision``."""
    for node in ast.parse(data).body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign):
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == "down_revision" and value is not None:
            heads = ast.literal_eval(value)
            return (heads,) if isinstance(heads, str) else tuple(heads)
    raise AssertionError("no down_revision")


def create_date(data: bytes) -> datetime:
    """The ``Create Date:`` Alembic rendered, parsed back."""
    found = CREATE_DATE.search(data)
    assert found is not None
    return datetime.fromisoformat(found.group(1).decode())


def without_create_date(data: bytes) -> bytes:
    return CREATE_DATE.sub(b"Create Date: -", data)


# ---------------------------------------------------------------- the oracle


@pytest.mark.parametrize(
    ("template", "options"),
    [
        ("generic", None),
        ("pyproject", None),
        ("async", None),
        ("generic", CUSTOM),
        ("pyproject", CUSTOM),
        ("async", TIMED),
    ],
    ids=["generic", "pyproject", "async", "generic-custom", "pyproject-custom", "async-epoch"],
)
def test_same_file_as_alembic_merge(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    template: str,
    options: Mapping[str, str] | None,
) -> None:
    project = make_project(tmp_path, monkeypatch, template, options)
    two_heads(project)
    env = project.environment()
    expected_path, expected = alembic_merge(project, MESSAGE)
    heads = down_revision(expected)
    assert sorted(heads) == ["left00000002", "right0000003"]

    text = project.template_bytes(env).decode("utf-8")
    patch = merge_file(
        env, text, heads, message=MESSAGE, rev_id=REV_ID, create_date=create_date(expected)
    )
    assert patch.path == expected_path
    assert patch.before is None
    assert patch.after == expected

    # Without a given date: everything but the Create Date line is the same.
    fresh = merge_file(env, text, heads, message=MESSAGE, rev_id=REV_ID)
    assert without_create_date(fresh.after) == without_create_date(expected)
    if options is None:
        assert fresh.path == expected_path


def test_custom_settings_are_read_from_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path, monkeypatch, "pyproject", CUSTOM)
    env = project.environment()
    assert env.file_template == CUSTOM["file_template"].replace("%%", "%")
    assert (env.truncate_slug_length, env.timezone) == (20, "UTC")
    patch = merge_file(env, project.template_bytes(env), ("a1", "b2"), message=MESSAGE)
    rendered = create_date(patch.after)
    assert rendered.utcoffset() is not None and rendered.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert patch.path.name.endswith(
        f"_{rendered.day:02d}_{_rev_of(patch.after)}_merge_the_two_heads.py"
    )


def _rev_of(data: bytes) -> str:
    found = re.search(rb"^Revision ID: (\w+)", data, re.MULTILINE)
    assert found is not None
    return found.group(1).decode()


@pytest.mark.parametrize("message", [None, ""])
def test_default_message_like_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str | None
) -> None:
    project = make_project(tmp_path, monkeypatch, "generic")
    two_heads(project)
    env = project.environment()
    expected_path, expected = alembic_merge(project, message)
    patch = merge_file(
        env,
        project.template_bytes(env),
        down_revision(expected),
        message=message,
        rev_id=REV_ID,
        create_date=create_date(expected),
    )
    assert (patch.path, patch.after) == (expected_path, expected)
    assert patch.path.name == f"{REV_ID}_.py"
    if message is None:
        assert patch.after.startswith(b'"""empty message\n')


def test_slugs_and_truncation_like_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path, monkeypatch, "generic", CUSTOM)
    two_heads(project)
    env = project.environment()
    template = project.template_bytes(env)
    messages = [
        "Merge: the two heads of feature/ABC-123, überall!",
        "merge the two heads again",
        "exactly_twenty_chars",
        "averyveryverylongwordwithoutanyunderscore",
        "  --  ",
    ]
    for message in messages:
        expected_path, expected = alembic_merge(project, message)
        patch = merge_file(
            env,
            template,
            down_revision(expected),
            message=message,
            rev_id=REV_ID,
            create_date=create_date(expected),
        )
        assert (patch.path, patch.after) == (expected_path, expected), message
        (project.root / expected_path).unlink()


@pytest.mark.parametrize("length", [None, 0, 1, 5, 20, 40, 200])
@pytest.mark.parametrize(
    "message",
    [None, "", "a b", "Add users table", "x" * 60, "one two three four five six seven eight nine"],
)
def test_slug_matches_rev_path(tmp_path: Path, length: int | None, message: str | None) -> None:
    script = ScriptDirectory(str(tmp_path), truncate_slug_length=length)
    date = datetime(2024, 2, 3, 4, 5, 6)
    expected = script._rev_path(str(tmp_path), "rev", message, date).name
    assert f"rev_{slug(message, length)}.py" == expected
    env = Environment("alembic", (P("v"),), truncate_slug_length=length)
    assert file_name(env, "rev", message, date) == expected


def test_branch_label_like_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path, monkeypatch, "generic")
    two_heads(project)
    env = project.environment()
    expected_path, expected = alembic_merge(project, MESSAGE, branch_label="release")
    patch = merge_file(
        env,
        project.template_bytes(env),
        down_revision(expected),
        message=MESSAGE,
        rev_id=REV_ID,
        create_date=create_date(expected),
        branch_labels=("release",),
    )
    assert (patch.path, patch.after) == (expected_path, expected)


@pytest.mark.parametrize("depends", [("base00000001",), ("base00000001", "left00000002")])
def test_depends_on_like_generate_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, depends: tuple[str, ...]
) -> None:
    project = make_project(tmp_path, monkeypatch, "pyproject")
    two_heads(project)
    env = project.environment()
    config = project.config()
    script = ScriptDirectory.from_config(config).generate_revision(
        REV_ID, MESSAGE, head="heads", depends_on=list(depends), config=config
    )
    assert script is not None
    expected = Path(script.path).read_bytes()
    patch = merge_file(
        env,
        project.template_bytes(env),
        down_revision(expected),
        message=MESSAGE,
        rev_id=REV_ID,
        create_date=create_date(expected),
        depends_on=depends,
    )
    assert (patch.path, patch.after) == (project.relative(script.path), expected)


def test_crlf_template_and_output_encoding_like_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path, monkeypatch, "generic", {"output_encoding": "latin-1"})
    env = project.environment()
    assert env.script_location is not None
    mako = project.root / env.script_location / "script.py.mako"
    # Alembic reads the new file back: a latin-1 file needs its coding cookie
    # (written through an expression: Mako drops a first-line coding comment).
    cookie = b'${"# -*- coding: latin-1 -*-"}\n'
    mako.write_bytes((cookie + mako.read_bytes()).replace(b"\n", b"\r\n"))
    two_heads(project)
    message = "Zusammenführung der Köpfe"
    expected_path, expected = alembic_merge(project, message)
    assert b"\r\n" in expected and "ü".encode("latin-1") in expected
    for template in (mako.read_bytes(), mako.read_bytes().decode("utf-8")):
        patch = merge_file(
            env,
            template,
            down_revision(expected),
            message=message,
            rev_id=REV_ID,
            create_date=create_date(expected),
        )
        assert (patch.path, patch.after) == (expected_path, expected)


MINIMAL_TEMPLATE = '''\
"""${message}

Create Date: ${create_date}
"""
# main option: ${config.get_main_option("no_such_option")}
# section option: ${config.get_section_option("alembic", "no_such_option", "dflt")}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
'''


def test_template_without_imports_or_bodies_like_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path, monkeypatch, "generic")
    two_heads(project)
    env = project.environment()
    assert env.script_location is not None
    (project.root / env.script_location / "script.py.mako").write_text(MINIMAL_TEMPLATE)
    expected_path, expected = alembic_merge(project, MESSAGE)
    patch = merge_file(
        env,
        MINIMAL_TEMPLATE,
        down_revision(expected),
        message=MESSAGE,
        rev_id=REV_ID,
        create_date=create_date(expected),
    )
    assert (patch.path, patch.after) == (expected_path, expected)
    assert b"# main option: None\n# section option: dflt\n" in patch.after


def test_multidb_template_with_config_options_like_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path, monkeypatch, "multidb")
    two_heads(project)
    env = project.environment()
    expected_path, expected = alembic_merge(project, MESSAGE)
    databases = project.config().get_main_option("databases")
    assert databases is not None
    config = TemplateConfig({"databases": databases})
    patch = merge_file(
        env,
        project.template_bytes(env),
        down_revision(expected),
        message=MESSAGE,
        rev_id=REV_ID,
        create_date=create_date(expected),
        config=config,
    )
    assert (patch.path, patch.after) == (expected_path, expected)
    # Without the option the template fails (re.split of None), as a ValueError with its line.
    with pytest.raises(ValueError, match=r"script.py.mako line \d+ .*TypeError"):
        merge_file(env, project.template_bytes(env), ("a", "b"), message=MESSAGE)


def test_several_version_locations_like_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locations = "%(here)s/migrations/versions:%(here)s/other"
    project = make_project(tmp_path, monkeypatch, "generic", {"version_locations": locations})
    (project.root / "other").mkdir()
    versions = project.root / "migrations" / "versions"
    other = str(project.root / "other")
    two_heads(project, {"base": str(versions), "left": other, "right": str(versions)})
    env = project.environment()
    assert env.version_locations == (P("migrations/versions"), P("other"))
    head_paths = {
        script.revision: project.relative(script.path)
        for script in ScriptDirectory.from_config(project.config()).walk_revisions()
    }
    expected_path, expected = alembic_merge(project, MESSAGE)
    heads = down_revision(expected)
    patch = merge_file(
        env,
        project.template_bytes(env),
        heads,
        message=MESSAGE,
        rev_id=REV_ID,
        create_date=create_date(expected),
        head_paths=head_paths,
    )
    assert (patch.path, patch.after) == (expected_path, expected)
    assert patch.path.parent == head_paths[heads[0]].parent
    # The other order puts it beside the other head.
    swapped = (heads[1], heads[0])
    beside = merge_file(env, MINIMAL_TEMPLATE, swapped, message=MESSAGE, head_paths=head_paths)
    assert beside.path.parent == head_paths[heads[1]].parent


# ---------------------------------------------------------------- refusals and errors


@pytest.fixture
def env() -> Iterator[Environment]:
    yield Environment("alembic", (P("migrations/versions"),), script_location=P("migrations"))


def test_never_overwrites(env: Environment) -> None:
    target = P("migrations/versions/abcdef123456_merge_the_two_heads.py")
    with pytest.raises(FileExistsError, match=re.escape(str(target))) as caught:
        merge_file(
            env,
            MINIMAL_TEMPLATE,
            ("a", "b"),
            message=MESSAGE,
            rev_id=REV_ID,
            existing=lambda path: path == target,
        )
    assert caught.value.filename == str(target)
    seen: list[PurePosixPath] = []

    def absent(path: PurePosixPath) -> bool:
        seen.append(path)
        return False

    patch = merge_file(env, MINIMAL_TEMPLATE, ("a", "b"), message=MESSAGE, existing=absent)
    assert seen == [patch.path]


@pytest.mark.parametrize(
    ("template", "line"),
    [
        ('"""${message}"""\nrevision = ${repr(up_revision)\n', 2),
        ("line 1\nline 2\n% if message:\nnever closed\n", 3),
        ("line 1\n<%def name='x('>\n</%def>\n", 2),
        ("a\nb\nc = ${1 / 0}\n", 3),
        ("a\n${no_such_name}\n", 2),
        ("a\n\n${config.no_such_method()}\n", 3),
    ],
)
def test_template_errors_name_the_line(env: Environment, template: str, line: int) -> None:
    with pytest.raises(ValueError, match=rf"script\.py\.mako line {line}\b"):
        merge_file(env, template, ("a", "b"), message=MESSAGE)


def test_template_error_in_module_block_is_a_value_error(env: Environment) -> None:
    with pytest.raises(ValueError, match="No module named"):
        merge_file(env, "<%!\nimport no_such_module_x\n%>\n", ("a", "b"), message=MESSAGE)


def test_new_rev_id_format() -> None:
    ids = {new_rev_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[0-9a-f]{12}", rev) for rev in ids)
    patch = merge_file(
        Environment("alembic", (P("v"),)), MINIMAL_TEMPLATE, ("a", "b"), message=None
    )
    assert re.fullmatch(r"v/[0-9a-f]{12}_\.py", str(patch.path))
    uuid.UUID(int=int(patch.path.stem[:12], 16))  # hex, as Alembic's uuid4().hex[-12:]


def test_create_date_follows_the_timezone_setting() -> None:
    naive = default_create_date(None)
    assert naive.tzinfo is None
    assert abs((naive - datetime.now()).total_seconds()) < 5
    utc = default_create_date("utc")  # not found as written: upper-cased, as Alembic
    assert str(utc.tzinfo) == "UTC"
    berlin = default_create_date("Europe/Berlin")
    assert abs((berlin - datetime.now(timezone.utc)).total_seconds()) < 5
    for bad in ("Nowhere/Atlantis", "", "../etc"):
        with pytest.raises(ValueError, match="Can't locate timezone"):
            default_create_date(bad)


def test_refuses_what_alembic_refuses(env: Environment) -> None:
    with pytest.raises(ValueError, match="Duplicate head"):
        merge_file(env, MINIMAL_TEMPLATE, ("a", "a"), message=MESSAGE)
    with pytest.raises(ValueError, match="not allowed in revision identifier"):
        merge_file(env, MINIMAL_TEMPLATE, ("a", "b"), message=MESSAGE, rev_id="ab-cd")
    with pytest.raises(ValueError, match="at least one head"):
        merge_file(env, MINIMAL_TEMPLATE, (), message=MESSAGE)
    with pytest.raises(ValueError, match="file_template"):
        merge_file(
            replace(env, file_template="%(nope)s"), MINIMAL_TEMPLATE, ("a", "b"), message="m"
        )
    with pytest.raises(ValueError, match="cannot be encoded as ascii"):
        merge_file(replace(env, output_encoding="ascii"), MINIMAL_TEMPLATE, ("a",), message="ü")
    with pytest.raises(ValueError, match="unknown output_encoding"):
        merge_file(replace(env, output_encoding="nope-8"), MINIMAL_TEMPLATE, ("a",), message="m")


def test_version_directory_rules() -> None:
    two = Environment("alembic", (P("a/versions"), P("b")))
    paths = {"x": P("b/x.py"), "y": P("a/versions/y.py"), "z": P("b/sub/z.py")}
    assert version_directory(two, ("x", "y"), paths) == P("b")
    assert version_directory(two, ("y", "x"), paths) == P("a/versions")
    assert version_directory(two, ("q", "x"), paths) == P("a/versions")  # unknown: first
    with pytest.raises(ValueError, match="not represented"):
        version_directory(two, ("z", "x"), paths)
    one = Environment("alembic", (P("a/versions"),))
    assert version_directory(one, ("z", "x"), paths) == P("a/versions")
    with pytest.raises(ValueError, match="no version location"):
        version_directory(Environment("alembic", ()), ("x",), paths)
