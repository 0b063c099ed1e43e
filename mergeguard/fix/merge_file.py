"""The merge revision file, rendered as ``alembic merge`` writes it.

``merge_file`` mirrors ``alembic.command.merge`` -> ``ScriptDirectory.
generate_revision`` -> ``util.template_to_file`` (Alembic 1.20) without
importing Alembic or the project: the project's own ``script.py.mako`` is
rendered by Mako with the context Alembic gives it, the file is named by the
environment's ``file_template`` and placed where Alembic would put it.
Like Alembic's merge, the context has no ``imports``, ``upgrades`` or
``downgrades`` (Mako's UNDEFINED, which is falsy, so the standard
``${upgrades if upgrades else "pass"}`` renders ``pass``).

What Alembic does that this module does not: run ``env.py`` first when
``revision_environment = true`` (``env.py`` may add template arguments),
resolve partial revision ids or branch labels in ``heads`` (give full
revision ids), and overwrite an existing file (refused here).
``TemplateConfig`` knows only the options it is given: a missing section
gives the default where Alembic's ``get_section_option`` raises.  A template
error inside a module-level ``<%! %>`` block is reported without its line
(Mako cannot map it).  The ``[post_write_hooks]`` run after the file is
written (``mergeguard.fix.hooks``); ``fix --merge`` passes the revision id
and Create Date of ``mergeguard.fix.merge_identity`` unless given.
"""

from __future__ import annotations

import errno
import os
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mergeguard.errors import MergeguardError
from mergeguard.model import Environment, FilePatch

DEFAULT_FILE_TEMPLATE = "%(rev)s_%(slug)s"  # alembic.script.base._default_file_template
DEFAULT_TRUNCATE_SLUG_LENGTH = 40  # ScriptDirectory: ``truncate_slug_length or 40``
DEFAULT_MESSAGE = "empty message"  # generate_revision's ``message`` when None
NAME_MAX = 255  # bytes in one file name on ext4, APFS, NTFS ... (os.pathconf is per mount)
_SLUG_WORD = re.compile(r"\w+")  # alembic.script.base._slug_re
_ILLEGAL_REV_CHARS = frozenset("@-+:")  # alembic.script.revision._revision_illegal_chars


class MergeFileError(ValueError):
    """The merge file cannot be made as Alembic would make it (the template
    fails to render, a timezone or encoding is unknown ...); the message says
    where and why."""


class TemplateConfig:
    """The ``config`` a template sees: a read-only stand-in for Alembic's ``Config``.

    ``main`` holds the options of the environment's ini section (already
    interpolated), ``sections`` the other ini sections; both default to empty,
    so every lookup returns its default (None) unless the caller supplies them.
    """

    def __init__(
        self,
        main: Mapping[str, str] | None = None,
        sections: Mapping[str, Mapping[str, str]] | None = None,
        *,
        section: str = "alembic",
        file_name: str | None = None,
    ) -> None:
        self.config_ini_section = section
        self.config_file_name = file_name
        self._sections = {**(sections or {}), section: dict(main or {})}

    def get_section(
        self, name: str, default: Mapping[str, str] | None = None
    ) -> Mapping[str, str] | None:
        """All options of one section, ``default`` when there is no such section."""
        return self._sections.get(name, default)

    def get_section_option(self, section: str, name: str, default: str | None = None) -> str | None:
        """One option of one section, ``default`` when unset."""
        return self._sections.get(section, {}).get(name, default)

    def get_main_option(self, name: str, default: str | None = None) -> str | None:
        """One option of the environment's own section, ``default`` when unset."""
        return self.get_section_option(self.config_ini_section, name, default)

    def get_alembic_option(self, name: str, default: str | None = None) -> str | None:
        """Alembic >= 1.16's lookup (ini, then ``[tool.alembic]``): the main option here."""
        return self.get_main_option(name, default)


def new_rev_id() -> str:
    """A fresh revision id, exactly as ``alembic.util.rev_id``: 12 hex digits."""
    return uuid.uuid4().hex[-12:]


def default_create_date(tz_name: str | None) -> datetime:
    """Now, as ``ScriptDirectory._generate_create_date`` computes it.

    Without a ``timezone`` setting, naive local time; with one, an aware
    datetime in that zone, trying the name as written and then upper-cased.
    Raises MergeFileError for a zone that cannot be found (Alembic's CommandError).
    """
    if tz_name is None:
        return datetime.now()
    return datetime.now(tz=timezone.utc).astimezone(find_zone(tz_name))


def find_zone(tz_name: str) -> ZoneInfo:
    """The ``timezone`` setting's zone, as written and then upper-cased;
    raises MergeFileError when there is none (Alembic's CommandError)."""
    zone = _zone(tz_name) or _zone(tz_name.upper())
    if zone is None:
        raise MergeFileError(f"Can't locate timezone: {tz_name}")
    return zone


def _zone(key: str) -> ZoneInfo | None:
    """``ZoneInfo(key)``, None when no such zone exists."""
    try:
        return ZoneInfo(key)
    except ZoneInfoNotFoundError:
        return None
    except ValueError as error:  # a malformed key: Alembic fails here too
        raise MergeFileError(f"Can't locate timezone: {key} ({error})") from error


def slug(message: str | None, truncate_slug_length: int | None) -> str:
    """The ``%(slug)s`` of a file name, by ``ScriptDirectory._rev_path``'s rules.

    The message's word runs joined by ``_`` and lower-cased; a slug longer
    than the limit (40 when unset or 0) is cut there and then back to the
    last ``_``, which is kept.
    """
    limit = truncate_slug_length or DEFAULT_TRUNCATE_SLUG_LENGTH
    text = "_".join(_SLUG_WORD.findall(message or "")).lower()
    if len(text) > limit:
        text = text[:limit].rsplit("_", 1)[0] + "_"
    return text


def file_name(env: Environment, rev_id: str, message: str | None, create_date: datetime) -> str:
    """The new file's name (it may contain ``/``): ``file_template`` + ``.py``.

    Raises MergeFileError when the template uses an unknown token or format.
    """
    template = env.file_template if env.file_template is not None else DEFAULT_FILE_TEMPLATE
    tokens = {
        "rev": rev_id,
        "slug": slug(message, env.truncate_slug_length),
        "epoch": int(create_date.timestamp()),
        "year": create_date.year,
        "month": create_date.month,
        "day": create_date.day,
        "hour": create_date.hour,
        "minute": create_date.minute,
        "second": create_date.second,
    }
    try:
        return f"{template % tokens}.py"
    except (KeyError, ValueError, TypeError) as error:
        raise MergeFileError(
            f"file_template {template!r} cannot be formatted ({type(error).__name__}: {error}); "
            f"it may use %({')s, %('.join(tokens)})s"
        ) from error


def version_directory(
    env: Environment, heads: Sequence[str], head_paths: Mapping[str, PurePosixPath]
) -> PurePosixPath:
    """Where Alembic puts the merge revision.

    With one version location, there.  With several, Alembic uses the
    directory of the first head's file, which must itself be one of the
    locations; when ``head_paths`` does not know that file, the first
    location.  Raises MergeFileError when the environment has no location or the
    head's directory is not a location (Alembic refuses that too).
    """
    if not env.version_locations:
        raise MergeFileError(f"environment {env.name!r} has no version location")
    first = env.version_locations[0]
    if len(env.version_locations) == 1 or not heads or heads[0] not in head_paths:
        return first
    directory = head_paths[heads[0]].parent
    if directory not in env.version_locations:
        raise MergeFileError(
            f"Path {directory} is not represented in current version locations "
            f"({', '.join(str(path) for path in env.version_locations)})"
        )
    return directory


def _scalar(revisions: Sequence[str]) -> str | Sequence[str] | None:
    """``revision.tuple_rev_as_scalar``: None, the only item, or the sequence itself."""
    if not revisions:
        return None
    return revisions[0] if len(revisions) == 1 else revisions


def format_as_comma(value: str | Sequence[str] | None) -> str:
    """``util.format_as_comma``, the template's ``comma`` filter."""
    if value is None:
        return ""
    return value if isinstance(value, str) else ", ".join(value)


def _require_safe_rev_id(rev_id: str) -> None:
    """A revision id becomes part of a file name: no directory in it, no control characters."""
    unsafe = "/" in rev_id or "\\" in rev_id or rev_id in (".", "..")
    if unsafe or not rev_id.isprintable():
        raise MergeguardError(
            f"--rev-id {rev_id!r} cannot name a file inside the versions directory "
            "(no '/', '\\', '..' or unprintable characters in a revision id)",
            hint="pass --rev-id with letters, digits and '_' only, or leave it out",
        )


def _require_inside(env: Environment, directory: PurePosixPath, name: str) -> None:
    """The file ``file_template`` names must stay in the version location.

    A lexical check (the working tree's symbolic links are checked where the
    file is written, in ``fix.apply``): Alembic itself would follow
    ``../`` or an absolute path out of the repository.
    """
    relative = PurePosixPath(name)
    control = any(ord(c) < 32 or ord(c) == 127 for c in name)
    template = env.file_template if env.file_template is not None else DEFAULT_FILE_TEMPLATE
    where = f" ({env.config_path} [{env.section}])" if env.config_path else ""
    longest = max((len(os.fsencode(part)) for part in relative.parts), default=0)
    if longest > NAME_MAX:
        raise MergeguardError(
            f"the merge revision's file name from file_template {template!r}{where} has a "
            f"part of {longest} bytes; file systems allow {NAME_MAX}",
            hint="pass a shorter --rev-id or -m",
        )
    if relative.is_absolute() or ".." in relative.parts or "\\" in name or control:
        raise MergeguardError(
            f"file_template {template!r}{where} names {name!r}, outside the versions "
            f"directory {directory}: mergeguard writes only inside it",
            hint="use a file_template relative to the versions directory, without '..'",
        )


def _check_revisions(rev_id: str, heads: Sequence[str]) -> None:
    """Raises MergeFileError for what ``generate_revision`` rejects before writing."""
    illegal = sorted(_ILLEGAL_REV_CHARS.intersection(rev_id))
    if illegal:
        raise MergeFileError(
            f"Character(s) '{', '.join(illegal)}' not allowed in revision identifier '{rev_id}'"
        )
    if not heads:
        raise MergeFileError("a merge revision needs at least one head")
    if len(set(heads)) != len(heads):
        raise MergeFileError("Duplicate head revisions specified")


def _template_line(error: Exception) -> int | None:
    """The template line Mako blames for ``error``, None when it cannot tell."""
    from mako import exceptions as mako_exceptions  # type: ignore[import-untyped]

    line = getattr(error, "lineno", None)
    if isinstance(error, mako_exceptions.MakoException) and isinstance(line, int) and line > 0:
        return line
    try:
        records = mako_exceptions.RichTraceback(error, error.__traceback__).records
    except (LookupError, AttributeError, TypeError, ValueError, OSError):
        return None  # a best-effort diagnosis only: the message then names no line
    lines = [record[5] for record in records if isinstance(record[5], int)]
    return lines[-1] if lines else None


def _render_failure(error: Exception, template: str | bytes) -> MergeFileError:
    """A one-line MergeFileError saying where and why the template failed."""
    text = template.decode("utf-8", "replace") if isinstance(template, bytes) else template
    line = _template_line(error)
    reason = f"{type(error).__name__}: {error}"
    if isinstance(error, NameError) and str(error) == "Undefined":
        reason = "NameError: a name the template uses is not defined"
    if line is None:
        return MergeFileError(f"script.py.mako cannot be rendered: {reason}")
    source = text.splitlines()[line - 1].strip() if line <= len(text.splitlines()) else ""
    return MergeFileError(f"script.py.mako line {line} cannot be rendered ({source!r}): {reason}")


def render(template: str | bytes, context: Mapping[str, object]) -> str:
    """The template rendered with ``context`` as ``util.template_to_file`` does.

    Bytes are decoded by Mako exactly as it reads a template file (BOM, magic
    encoding comment, else UTF-8); line endings are kept.  Raises MergeFileError
    naming the template line when Mako cannot compile or render it.
    """
    from mako.template import Template  # type: ignore[import-untyped]  # (pulls in pygments)

    try:
        rendered: str = Template(text=template).render_unicode(**context)
    except Exception as error:  # the project's template is code: it may raise anything
        raise _render_failure(error, template) from error
    return rendered


def _encoded(text: str, encoding: str) -> bytes:
    """``text`` as ``template_to_file`` writes it: encoded, line endings kept.

    Raises MergeFileError for an unknown encoding or a character it cannot hold.
    """
    try:
        return text.encode(encoding)
    except LookupError as error:
        raise MergeFileError(f"unknown output_encoding {encoding!r}") from error
    except UnicodeEncodeError as error:
        raise MergeFileError(
            f"the merge revision cannot be encoded as {encoding} (output_encoding): {error}"
        ) from error


def merge_file(
    env: Environment,
    template: str | bytes,
    heads: tuple[str, ...],
    *,
    message: str | None,
    rev_id: str | None = None,
    create_date: datetime | None = None,
    branch_labels: tuple[str, ...] = (),
    depends_on: tuple[str, ...] = (),
    existing: Callable[[PurePosixPath], bool] = lambda p: False,
    head_paths: Mapping[str, PurePosixPath] | None = None,
    config: TemplateConfig | None = None,
) -> FilePatch:
    """Returns the new merge revision that ``alembic merge`` would write.

    ``template`` is the text (or bytes) of the project's ``script.py.mako``,
    ``heads`` the full revision ids in ``down_revision`` order.  The file is
    placed by ``version_directory`` (``head_paths`` maps revisions to their
    files, needed only with several version locations) and named by
    ``file_name``; ``after`` holds the bytes Alembic would write (the
    rendered text in ``env.output_encoding``, line endings unchanged).  Raises
    FileExistsError when ``existing(path)``, MergeguardError for a revision
    id or ``file_template`` naming a file outside the version location, and
    MergeFileError for anything Alembic would refuse or fail on (bad template,
    timezone, encoding ...).
    """
    revision = rev_id if rev_id is not None else new_rev_id()
    _require_safe_rev_id(revision)
    _check_revisions(revision, heads)
    date = create_date if create_date is not None else default_create_date(env.timezone)
    directory = version_directory(env, heads, head_paths or {})
    name = file_name(env, revision, message, date)
    _require_inside(env, directory, name)
    path = directory / name
    if existing(path):
        raise FileExistsError(
            errno.EEXIST, "a merge revision would overwrite an existing file", str(path)
        )
    context: dict[str, object] = {
        "up_revision": revision,
        "down_revision": _scalar(heads),
        "branch_labels": branch_labels or None,  # util.to_tuple(None) is None
        "depends_on": _scalar(list(depends_on)),  # a list, as Alembic resolves it
        "create_date": date,
        "comma": format_as_comma,
        "message": message if message is not None else DEFAULT_MESSAGE,
        "config": config if config is not None else TemplateConfig(section=env.section),
    }
    data = _encoded(render(template, context), env.output_encoding)
    return FilePatch(path=path, before=None, after=data, within=directory)
