"""mergeguard.config.discovery: Alembic's configuration read from a snapshot.

Most cases build a ``MemoryTree``; the oracle tests write the same files to
``tmp_path`` and check that real Alembic (``ScriptDirectory.from_config``)
computes the same version directories; the git tests read two refs.
"""

from __future__ import annotations

import posixpath
import warnings
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import pytest

from mergeguard.config.discovery import discover
from mergeguard.config.settings import load_settings
from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import MemoryTree
from mergeguard.model import Config, Environment, ToolSettings
from tests.conftest import ALEMBIC_INI, RepoBuilder

P = PurePosixPath


def tree(files: Mapping[str, str | bytes], origin: str = "main@abc1234") -> MemoryTree:
    converted: dict[str | PurePosixPath, str | bytes] = {P(k): v for k, v in files.items()}
    return MemoryTree(converted, origin=origin)


def only(config: Config) -> Environment:
    assert len(config.environments) == 1, config.environments
    return config.environments[0]


def versions_of(config: Config) -> list[str]:
    return [str(path) for path in only(config).version_locations]


def error_of(snapshot: MemoryTree, **kwargs: object) -> MergeguardError:
    with pytest.raises(MergeguardError) as caught:
        discover(snapshot, **kwargs)  # type: ignore[arg-type]
    return caught.value


def ini(body: str, section: str = "alembic") -> str:
    return f"[{section}]\n{body}\n"


# ---------------------------------------------------------------- layouts


def test_default_layout() -> None:
    snapshot = tree({"alembic.ini": ALEMBIC_INI, "migrations/env.py": ""})
    env = only(discover(snapshot))
    assert env == Environment(
        name="alembic",
        version_locations=(P("migrations/versions"),),
        script_location=P("migrations"),
        config_path=P("alembic.ini"),
        section="alembic",
    )


def test_here_is_the_ini_directory() -> None:
    body = (
        "script_location = %(here)s/db\npath_separator = os\n"
        "version_locations = %(here)s/db/versions:%(here)s/../shared/versions"
    )
    env = only(discover(tree({"svc/alembic.ini": ini(body)})))
    assert env.script_location == P("svc/db")
    assert env.version_locations == (P("svc/db/versions"), P("shared/versions"))
    assert env.config_path == P("svc/alembic.ini")


def test_here_at_the_root_maps_back_to_relative_paths() -> None:
    env = only(discover(tree({"alembic.ini": ini("script_location = %(here)s/./migrations")})))
    assert env.script_location == P("migrations")
    assert env.version_locations == (P("migrations/versions"),)


def test_relative_script_location_is_relative_to_the_ini() -> None:
    snapshot = tree({"svc/alembic.ini": ini("script_location = db"), "svc/db/env.py": ""})
    assert only(discover(snapshot)).script_location == P("svc/db")


def test_relative_path_falls_back_to_start_dir_then_root_when_missing_beside_ini() -> None:
    files = {"config/alembic.ini": ini("script_location = migrations"), "migrations/env.py": ""}
    assert only(discover(tree(files))).script_location == P("migrations")
    files["app/migrations/env.py"] = ""
    env = only(discover(tree(files), start_dir=P("app")))
    assert env.script_location == P("app/migrations")


def test_paths_escaping_the_repository_are_refused() -> None:
    snapshot = tree({"alembic.ini": ini("script_location = ../elsewhere")})
    error = error_of(snapshot)
    assert "alembic.ini" in error.message and "outside the repository" in error.message
    assert error.hint


def test_absolute_paths_outside_the_repository_are_refused() -> None:
    body = "script_location = migrations\npath_separator = os\nversion_locations = /srv/app/v"
    assert "/srv/app/v" in error_of(tree({"alembic.ini": ini(body)})).message


# ---------------------------------------------------------------- version_locations


SEPARATED = [
    ("os", "a/v:b/v", ["a/v", "b/v"]),
    (":", "a/v:b/v", ["a/v", "b/v"]),
    (";", "a/v; b/v", ["a/v", "b/v"]),
    ("space", "a/v b/v  c/v", ["a/v", "b/v", "c/v"]),
    ("newline", "a/v\n  b/v\n  c d/v", ["a/v", "b/v", "c d/v"]),
    ("colon", "a/v:b/v", ["a/v", "b/v"]),
    ("semicolon", "a/v;b/v", ["a/v", "b/v"]),
    ("comma", "a/v, b/v", ["a/v", "b/v"]),
    (",", "a/v,b/v", ["a/v", "b/v"]),
]


@pytest.mark.parametrize(("separator", "value", "expected"), SEPARATED)
def test_path_separator(separator: str, value: str, expected: list[str]) -> None:
    body = f"script_location = m\npath_separator = {separator}\nversion_locations = {value}"
    assert versions_of(discover(tree({"alembic.ini": ini(body)}))) == expected


def test_legacy_split_without_separator() -> None:
    body = "script_location = m\nversion_locations = a/v, b/v c/v,d/v"
    assert versions_of(discover(tree({"alembic.ini": ini(body)}))) == ["a/v", "b/v", "c/v", "d/v"]


def test_version_path_separator_is_read_when_path_separator_is_absent() -> None:
    body = "script_location = m\nversion_path_separator = ;\nversion_locations = a v;b"
    assert versions_of(discover(tree({"alembic.ini": ini(body)}))) == ["a v", "b"]
    body += "\npath_separator = space"
    assert versions_of(discover(tree({"alembic.ini": ini(body)}))) == ["a", "v;b"]


def test_invalid_separator_names_the_key() -> None:
    body = "script_location = m\npath_separator = pipe\nversion_locations = a|b"
    error = error_of(tree({"alembic.ini": ini(body)}))
    assert "path_separator" in error.message and "'pipe'" in error.message
    assert error.hint is not None and "os" in error.hint


def test_version_locations_keep_order_and_drop_repeats() -> None:
    body = "script_location = m\npath_separator = os\nversion_locations = z:a:./z:m/versions"
    assert versions_of(discover(tree({"alembic.ini": ini(body)}))) == ["z", "a", "m/versions"]


def test_recursive_and_script_options() -> None:
    body = (
        "script_location = m\nrecursive_version_locations = true\n"
        "file_template = %%(year)d_%%(rev)s_%%(slug)s\ntruncate_slug_length = 20\n"
        "timezone = UTC\noutput_encoding = latin-1"
    )
    env = only(discover(tree({"alembic.ini": ini(body)})))
    assert env.recursive is True
    assert env.file_template == "%(year)d_%(rev)s_%(slug)s"
    assert env.truncate_slug_length == 20
    assert (env.timezone, env.output_encoding) == ("UTC", "latin-1")


def test_recursive_is_true_only_for_lowercase_true_as_in_alembic() -> None:
    body = "script_location = m\nrecursive_version_locations = True"
    assert only(discover(tree({"alembic.ini": ini(body)}))).recursive is False


def test_bad_interpolation_names_the_key() -> None:
    error = error_of(tree({"alembic.ini": ini("script_location = %(nowhere)s/m")}))
    assert "script_location" in error.message and "alembic.ini" in error.message


def test_bad_slug_length_names_the_key() -> None:
    body = "script_location = m\ntruncate_slug_length = long"
    assert "truncate_slug_length" in error_of(tree({"alembic.ini": ini(body)})).message


# ---------------------------------------------------------------- sections and files


MULTI = """\
[db_main]
script_location = main
[db_audit]
script_location = %(here)s/audit
version_locations = audit/v1 audit/v2
[loggers]
keys = root
"""


def test_every_section_with_script_location_is_an_environment() -> None:
    config = discover(tree({"alembic.ini": MULTI}))
    assert [(e.name, e.section) for e in config.environments] == [
        ("db_main", "db_main"),
        ("db_audit", "db_audit"),
    ]
    assert config.environments[1].version_locations == (P("audit/v1"), P("audit/v2"))


def test_name_selects_one_section() -> None:
    env = only(discover(tree({"alembic.ini": MULTI}), section="db_audit"))
    assert (env.name, env.script_location) == ("db_audit", P("audit"))
    env = only(
        discover(tree({"alembic.ini": MULTI}), config_path=P("alembic.ini"), section="db_main")
    )
    assert env.script_location == P("main")


def test_missing_section_lists_the_sections() -> None:
    error = error_of(tree({"alembic.ini": MULTI}), config_path=P("alembic.ini"), section="nope")
    assert "[nope]" in error.message
    assert "db_main" in error.message and "db_audit" in error.message and "loggers" in error.message
    error = error_of(tree({"alembic.ini": MULTI}), section="nope")
    assert "[nope]" in error.message and "db_main" in error.message


def test_defaults_section_does_not_make_every_section_an_environment() -> None:
    text = "[DEFAULT]\nscript_location = m\n[alembic]\n[loggers]\nkeys = root\n"
    assert [e.section for e in discover(tree({"alembic.ini": text})).environments] == ["alembic"]


def test_several_ini_files_are_named_by_directory() -> None:
    snapshot = tree(
        {
            "billing/alembic.ini": ini("script_location = migrations"),
            "alembic.ini": ini("script_location = migrations"),
            "users/alembic.ini": MULTI.replace("db_main", "alembic"),
        }
    )
    config = discover(snapshot)
    assert [(e.name, str(e.config_path)) for e in config.environments] == [
        (".:alembic", "alembic.ini"),
        ("billing:alembic", "billing/alembic.ini"),
        ("users:alembic", "users/alembic.ini"),
        ("db_audit", "users/alembic.ini"),
    ]
    assert config.environments[1].script_location == P("billing/migrations")


def test_start_dir_prefers_the_ini_files_below_it() -> None:
    snapshot = tree(
        {
            "billing/alembic.ini": ini("script_location = migrations"),
            "users/alembic.ini": ini("script_location = migrations"),
        }
    )
    env = only(discover(snapshot, start_dir=P("./users/")))
    assert (env.name, env.script_location) == ("alembic", P("users/migrations"))
    assert len(discover(snapshot, start_dir=P("docs")).environments) == 2


def test_flask_migrate_layout() -> None:
    flask_ini = "[alembic]\n# template used to generate migration files\n\n[loggers]\nkeys = root\n"
    snapshot = tree({"migrations/alembic.ini": flask_ini, "migrations/env.py": ""})
    env = only(discover(snapshot))
    assert env.script_location == P("migrations")
    assert env.version_locations == (P("migrations/versions"),)
    assert env.config_path == P("migrations/alembic.ini")
    with_versions_only = tree({"migrations/alembic.ini": flask_ini, "migrations/versions/a.py": ""})
    assert only(discover(with_versions_only)).script_location == P("migrations")


def test_ini_without_script_location_or_env_py_is_not_an_environment() -> None:
    error = error_of(tree({"tools/alembic.ini": "[alembic]\nsqlalchemy.url = x\n"}))
    assert error.message == "no Alembic configuration found in main@abc1234"
    assert error.hint is not None and "tools/alembic.ini" in error.hint


# ---------------------------------------------------------------- pyproject [tool.alembic]


PYPROJECT_ALEMBIC = """\
[tool.alembic]
script_location = "%(here)s/alembic"
version_locations = ["%(here)s/alembic/versions", "plugins/versions"]
recursive_version_locations = true
file_template = "%%(rev)s_%%(slug)s"
truncate_slug_length = 20
timezone = "UTC"
prepend_sys_path = ["."]
"""


def test_pyproject_only() -> None:
    env = only(discover(tree({"pyproject.toml": PYPROJECT_ALEMBIC})))
    assert env == Environment(
        name="alembic",
        version_locations=(P("alembic/versions"), P("plugins/versions")),
        script_location=P("alembic"),
        config_path=P("pyproject.toml"),
        section="alembic",
        recursive=True,
        file_template="%(rev)s_%(slug)s",
        truncate_slug_length=20,
        timezone="UTC",
    )


def test_ini_wins_over_toml_key_by_key() -> None:
    text = ini(
        "sqlalchemy.url = sqlite://\nfile_template = %%(rev)s\nrecursive_version_locations = false"
    )
    env = only(discover(tree({"alembic.ini": text, "pyproject.toml": PYPROJECT_ALEMBIC})))
    assert env.config_path == P("alembic.ini")
    assert env.script_location == P("alembic")  # from the toml
    assert env.version_locations == (P("alembic/versions"), P("plugins/versions"))
    assert env.file_template == "%(rev)s"  # from the ini
    assert env.recursive is False  # from the ini
    assert env.truncate_slug_length == 20  # from the toml


def test_ini_version_locations_win_over_the_toml_list() -> None:
    text = ini("path_separator = os\nversion_locations = here/v")
    env = only(discover(tree({"alembic.ini": text, "pyproject.toml": PYPROJECT_ALEMBIC})))
    assert env.version_locations == (P("here/v"),)


def test_toml_type_errors_name_the_key() -> None:
    text = '[tool.alembic]\nscript_location = "m"\nrecursive_version_locations = "yes"\n'
    error = error_of(tree({"pyproject.toml": text}))
    assert "recursive_version_locations" in error.message and "pyproject.toml" in error.message
    text = '[tool.alembic]\nscript_location = "m"\nversion_locations = "a:b"\n'
    assert "version_locations" in error_of(tree({"pyproject.toml": text})).message


def test_ini_pairs_with_the_pyproject_beside_it() -> None:
    snapshot = tree(
        {
            "svc/alembic.ini": ini("sqlalchemy.url = sqlite://"),
            "svc/pyproject.toml": '[tool.alembic]\nscript_location = "%(here)s/db"\n',
        }
    )
    env = only(discover(snapshot))
    assert (env.config_path, env.script_location) == (P("svc/alembic.ini"), P("svc/db"))


def test_config_path_may_name_the_pyproject() -> None:
    snapshot = tree({"pyproject.toml": PYPROJECT_ALEMBIC})
    env = only(discover(snapshot, config_path=P("pyproject.toml")))
    assert (env.config_path, env.script_location) == (P("pyproject.toml"), P("alembic"))
    snapshot = tree({"pyproject.toml": PYPROJECT_ALEMBIC, "alembic.ini": ini("timezone = UTC")})
    env = only(discover(snapshot, config_path=P("pyproject.toml")))
    assert (env.config_path, env.script_location) == (P("alembic.ini"), P("alembic"))


def test_toml_environment_beside_an_ini_without_alembic_section() -> None:
    snapshot = tree({"pyproject.toml": PYPROJECT_ALEMBIC, "alembic.ini": MULTI})
    config = discover(snapshot)
    assert [(e.name, str(e.config_path)) for e in config.environments] == [
        ("db_main", "alembic.ini"),
        ("db_audit", "alembic.ini"),
        ("alembic", "pyproject.toml"),
    ]


# ---------------------------------------------------------------- package resources


def test_package_resource_script_location() -> None:
    snapshot = tree(
        {
            "alembic.ini": ini("script_location = myapp:migrations"),
            "src/myapp/migrations/env.py": "",
        }
    )
    env = only(discover(snapshot))
    assert env.script_location == P("src/myapp/migrations")
    assert env.version_locations == (P("src/myapp/migrations/versions"),)


def test_dotted_package_resource_beside_the_ini() -> None:
    body = "script_location = app.db:alembic\npath_separator = os"
    snapshot = tree({"svc/alembic.ini": ini(body), "svc/app/db/__init__.py": ""})
    assert only(discover(snapshot)).script_location == P("svc/app/db/alembic")


def test_package_resource_found_through_prepend_sys_path() -> None:
    body = "script_location = app:db\npath_separator = os\nprepend_sys_path = ..:lib"
    snapshot = tree({"svc/alembic.ini": ini(body), "svc/lib/app/__init__.py": ""})
    env = only(discover(snapshot))
    assert env.script_location == P("svc/lib/app/db")


def test_unknown_package_is_an_error() -> None:
    error = error_of(tree({"alembic.ini": ini("script_location = ghost:migrations")}))
    assert "'ghost'" in error.message and error.hint


# ---------------------------------------------------------------- explicit choices


def test_versions_bypass_discovery() -> None:
    config = discover(tree({}), versions=(P("./db/versions"), P("a/../extra"), P("db/versions")))
    assert config.environments == (
        Environment(name="alembic", version_locations=(P("db/versions"), P("extra"))),
    )
    assert "outside the repository" in error_of(tree({}), versions=(P("../x"),)).message


def test_config_path_missing_at_this_snapshot() -> None:
    error = error_of(tree({"alembic.ini": ALEMBIC_INI}), config_path=P("db/alembic.ini"))
    assert "db/alembic.ini" in error.message and "main@abc1234" in error.message
    assert error.hint is not None and "-c" in error.hint


def test_config_path_reads_only_that_file() -> None:
    snapshot = tree(
        {"alembic.ini": ALEMBIC_INI, "other/alembic.ini": ini("script_location = %(here)s")}
    )
    env = only(discover(snapshot, config_path=P("./other/alembic.ini")))
    assert (env.name, env.script_location) == ("alembic", P("other"))


def test_tool_mergeguard_environments_replace_discovery() -> None:
    pyproject = '[tool.mergeguard]\nenvironments = ["multi.ini:db_audit", "b/alembic.ini"]\n'
    snapshot = tree(
        {
            "pyproject.toml": pyproject,
            "multi.ini": MULTI,
            "a/alembic.ini": ini("script_location = m"),
            "b/alembic.ini": ini("script_location = m"),
        }
    )
    config = discover(snapshot)
    assert [(e.name, str(e.config_path)) for e in config.environments] == [
        ("alembic", "b/alembic.ini"),
        ("db_audit", "multi.ini"),
    ]
    assert config.settings.environments == ("multi.ini:db_audit", "b/alembic.ini")


def test_name_filters_configured_environments() -> None:
    pyproject = '[tool.mergeguard]\nenvironments = ["multi.ini"]\n'
    snapshot = tree({"pyproject.toml": pyproject, "multi.ini": MULTI})
    assert [e.name for e in discover(snapshot).environments] == ["db_main", "db_audit"]
    assert only(discover(snapshot, section="db_audit")).script_location == P("audit")
    assert "db_main" in error_of(snapshot, section="nope").message


def test_names_stay_unique_when_directory_names_collide() -> None:
    snapshot = tree(
        {
            "a/alembic.ini": ini("script_location = m"),
            "b/alembic.ini": ini("script_location = m"),
            "c/alembic.ini": ini("script_location = m", section="a:alembic"),
        }
    )
    names = [e.name for e in discover(snapshot).environments]
    assert len(set(names)) == 3
    assert names == ["a/alembic.ini:alembic", "b/alembic.ini:alembic", "c/alembic.ini:a:alembic"]


def test_configured_file_without_environment() -> None:
    pyproject = '[tool.mergeguard]\nenvironments = ["x/alembic.ini", "y.ini:alembic"]\n'
    files = {"pyproject.toml": pyproject, "x/alembic.ini": "[loggers]\nkeys = root\n"}
    error = error_of(tree(files))
    assert error.message == "no section of x/alembic.ini sets script_location in main@abc1234"
    files["x/alembic.ini"] = ini("script_location = m")
    files["y.ini"] = ini("sqlalchemy.url = sqlite://")
    error = error_of(tree(files))
    assert error.message == "[alembic] of y.ini sets no script_location in main@abc1234"


def test_tool_mergeguard_environments_missing_file() -> None:
    snapshot = tree({"pyproject.toml": '[tool.mergeguard]\nenvironments = ["gone.ini"]\n'})
    error = error_of(snapshot)
    assert "gone.ini" in error.message and error.hint and "environments" in error.hint


# ---------------------------------------------------------------- cannot run


def test_no_configuration_at_all() -> None:
    error = error_of(tree({"README.md": "hi"}))
    assert error.message == "no Alembic configuration found in main@abc1234"
    assert error.hint is not None
    for needle in ("alembic.ini", "pyproject.toml", "[tool.alembic]", "migrations/alembic.ini"):
        assert needle in error.hint
    assert "-c" in error.hint and "--versions" in error.hint


def test_malformed_ini_names_file_and_line() -> None:
    error = error_of(tree({"alembic.ini": "[alembic]\nscript_location = m\nnot an option line\n"}))
    assert "alembic.ini:3" in error.message
    error = error_of(tree({"db/alembic.ini": "script_location = m\n"}))
    assert "db/alembic.ini:1" in error.message
    error = error_of(tree({"alembic.ini": "[alembic]\n[alembic]\n"}))
    assert "alembic.ini:2" in error.message


def test_undecodable_ini_names_the_file() -> None:
    error = error_of(tree({"alembic.ini": b"[alembic]\nscript_location = \xff\xfe\n"}))
    assert "alembic.ini" in error.message and "UTF-8" in error.message


def test_malformed_toml_names_the_file() -> None:
    snapshot = tree({"pyproject.toml": "[tool.mergeguard\nbase = 1\n", "alembic.ini": ALEMBIC_INI})
    assert "pyproject.toml" in error_of(snapshot).message
    with pytest.raises(MergeguardError, match="pyproject.toml"):
        load_settings(snapshot)


# ---------------------------------------------------------------- load_settings


def test_load_settings_reads_every_key() -> None:
    text = """\
[tool.mergeguard]
base = "origin/main"
environments = ["alembic.ini"]
select = ["MG1"]
ignore = ["MG008", "docstring-drift"]
constants = { "cli.EXPAND" = "abc123", "BASE" = false }
"""
    assert load_settings(tree({"pyproject.toml": text})) == ToolSettings(
        base="origin/main",
        environments=("alembic.ini",),
        select=("MG1",),
        ignore=("MG008", "docstring-drift"),
        constants=(("BASE", None), ("cli.EXPAND", "abc123")),
    )


def test_load_settings_defaults() -> None:
    assert load_settings(tree({})) == ToolSettings()
    assert load_settings(tree({"pyproject.toml": "[project]\nname = 'x'\n"})) == ToolSettings()


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("base = 1", "base"),
        ('environments = "alembic.ini"', "environments"),
        ("select = [1]", "select"),
        ('ignore = "MG001"', "ignore"),
        ('constants = ["a"]', "constants"),
        ("constants = { A = 1 }", "constants.A"),
        ("constants = { A = true }", "constants.A"),
    ],
)
def test_load_settings_wrong_types_name_the_key(body: str, key: str) -> None:
    with pytest.raises(MergeguardError) as caught:
        load_settings(tree({"pyproject.toml": f"[tool.mergeguard]\n{body}\n"}))
    assert f"] {key} must be" in caught.value.message
    assert caught.value.hint


def test_tool_mergeguard_must_be_a_table() -> None:
    with pytest.raises(MergeguardError, match="tool.mergeguard"):
        load_settings(tree({"pyproject.toml": "[tool]\nmergeguard = 3\n"}))


# ---------------------------------------------------------------- Alembic as the oracle


def alembic_versions(root: Path, ini_path: str, section: str = "alembic") -> list[str]:
    """What Alembic computes, run from the ini's directory, relative to ``root``."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    ini_file = root / ini_path
    toml_file = ini_file.parent / "pyproject.toml"
    cfg = AlembicConfig(str(ini_file), ini_section=section, toml_file=str(toml_file))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        locations = ScriptDirectory.from_config(cfg)._version_locations
    return [posixpath.normpath(Path(loc).relative_to(root).as_posix()) for loc in locations]


ORACLE_CASES = [
    ("script_location = m", {}),
    ("script_location = %(here)s/m", {}),
    ("script_location = m\npath_separator = os\nversion_locations = %(here)s/a:b/c", {}),
    ("script_location = m\npath_separator = ;\nversion_locations = a ; %(here)s/b", {}),
    ("script_location = m\npath_separator = space\nversion_locations = a  b", {}),
    ("script_location = m\npath_separator = newline\nversion_locations = a\n  b c", {}),
    ("script_location = m\nversion_locations = a, b c,%(here)s/d", {}),
    ("script_location = m\nversion_path_separator = :\nversion_locations = a:b", {}),
    ("script_location = m\nversion_locations = x/../y ./z", {}),
    (
        "sqlalchemy.url = sqlite://",
        {
            "pyproject.toml": '[tool.alembic]\nscript_location = "%(here)s/m"\n'
            'version_locations = ["%(here)s/v1", "v2"]\n'
        },
    ),
]


@pytest.mark.parametrize("directory", ["", "sub/"])
@pytest.mark.parametrize(("body", "extra"), ORACLE_CASES)
def test_version_locations_match_alembic(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    directory: str,
    body: str,
    extra: dict[str, str],
) -> None:
    files = {f"{directory}alembic.ini": ini(body), f"{directory}m/env.py": ""}
    files.update({f"{directory}{name}": text for name, text in extra.items()})
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path / directory)
    expected = alembic_versions(tmp_path, f"{directory}alembic.ini")
    assert versions_of(discover(tree(files))) == expected


def test_parent_directory_matches_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = "script_location = m\npath_separator = os\nversion_locations = ../shared/v:%(here)s/../x"
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/alembic.ini").write_text(ini(body))
    (tmp_path / "svc/m").mkdir()
    monkeypatch.chdir(tmp_path / "svc")
    expected = alembic_versions(tmp_path, "svc/alembic.ini")
    assert (
        versions_of(discover(tree({"svc/alembic.ini": ini(body)}))) == expected == ["shared/v", "x"]
    )


def test_sections_match_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "alembic.ini").write_text(MULTI)
    (tmp_path / "main").mkdir()
    (tmp_path / "audit").mkdir()
    monkeypatch.chdir(tmp_path)
    config = discover(tree({"alembic.ini": MULTI}))
    for env in config.environments:
        expected = alembic_versions(tmp_path, "alembic.ini", env.section)
        assert [str(path) for path in env.version_locations] == expected


# ---------------------------------------------------------------- at git refs


def test_configuration_is_read_at_each_ref(repo: RepoBuilder) -> None:
    gitsource = pytest.importorskip("mergeguard.git.opening")
    repo.init_alembic()
    repo.migration("a1", None)
    first = repo.commit("alembic at the root")
    repo.write("alembic.ini", ALEMBIC_INI.replace("%(here)s/migrations", "%(here)s/db/migrations"))
    repo.write("db/migrations/env.py", "")
    second = repo.commit("moved")
    git = gitsource.open_repository(repo.root)
    assert only(discover(git.tree(first))).script_location == P("migrations")
    assert only(discover(git.tree(second))).version_locations == (P("db/migrations/versions"),)


def test_missing_config_names_the_ref(repo: RepoBuilder) -> None:
    gitsource = pytest.importorskip("mergeguard.git.opening")
    repo.write("README.md", "no alembic yet\n")
    repo.commit("empty")
    snapshot = gitsource.open_repository(repo.root).tree("HEAD")
    with pytest.raises(MergeguardError) as caught:
        discover(snapshot, config_path=P("alembic.ini"))
    assert snapshot.origin in caught.value.message
