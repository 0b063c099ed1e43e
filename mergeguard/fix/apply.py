"""The only module that writes files: patches, atomically, never clobbering.

A new file is written to a temporary file in the same directory and then
hard-linked into place, which fails if the name exists: nothing is ever
overwritten.  A changed file must still hold exactly the bytes the change was
computed from, and is replaced with ``os.replace`` (atomic on POSIX).  Every
patch is verified before the first one is written, including where it lands:
after following symbolic links, inside the directory the patch names (the
version location for a new file) inside the repository.  A changed file that
is a symbolic link is written through to its target, which must be inside too.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from mergeguard.errors import MergeguardError
from mergeguard.model import FilePatch

_ROOT = PurePosixPath(".")

# ``tempfile.mkstemp(prefix=".NAME.", suffix=".mergeguard")``: eight characters
# from its alphabet in between.  Only names of exactly this shape are ever removed.
_TEMPORARY_NAME = re.compile(r"\.[^/]+\.[a-z0-9_]{8}\.mergeguard")
# A temporary file lives for milliseconds; one this old was left by a killed
# run, while a younger one may belong to a run still in progress.
STALE_AFTER_SECONDS = 3600.0


def unified_diff(patch: FilePatch) -> str:
    """The patch as ``diff -u`` text (``/dev/null`` for a new file)."""
    before = (patch.before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    after = patch.after.decode("utf-8", "replace").splitlines(keepends=True)
    old = "/dev/null" if patch.before is None else f"a/{patch.path}"
    lines = difflib.unified_diff(before, after, old, f"b/{patch.path}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def destination(root: Path, patch: FilePatch) -> Path:
    """The real path ``patch`` writes (links followed); MergeguardError when
    it is not inside ``patch.within`` inside the repository."""
    return real_path(root, patch.path, patch.within, new=patch.before is None)


def real_path(root: Path, path: PurePosixPath, within: PurePosixPath, *, new: bool) -> Path:
    """``root / path`` with symbolic links followed, which must lie inside
    ``root / within`` (itself inside the repository); else MergeguardError."""
    real_root, allowed, target = (_resolved(root / p, path) for p in (_ROOT, within, path))
    if not allowed.is_relative_to(real_root):
        raise MergeguardError(
            f"{within} resolves to {allowed}, outside the repository {real_root}: "
            f"mergeguard fix does not write {path} there",
            hint=f"make {within} a directory of the repository, not a symbolic link",
        )
    if not target.is_relative_to(allowed):
        link = "a path through a symbolic link" if new else "a symbolic link"
        place = "the repository" if within == _ROOT else within
        raise MergeguardError(
            f"{path} is {link} to {target}, outside {place}: mergeguard fix writes only inside it",
            hint=f"replace the symbolic link with the file itself (it is {target})",
        )
    return target


def _resolved(path: Path, shown: PurePosixPath) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a symbolic link loop (RuntimeError before 3.13)
        raise MergeguardError(
            f"cannot follow the symbolic links of {shown}: {exc}",
            hint="remove the symbolic link loop",
        ) from exc


def verify(root: Path, patches: Sequence[FilePatch]) -> None:
    """Raise MergeguardError unless every patch still applies as computed,
    inside its directory."""
    for patch in patches:
        destination(root, patch)
        target = root / patch.path
        if patch.before is None:
            if os.path.lexists(target):
                raise MergeguardError(
                    f"{patch.path} already exists; mergeguard never overwrites a file",
                    hint="pass --rev-id with another id",
                )
            continue
        try:
            current = target.read_bytes()
        except OSError as exc:
            raise MergeguardError(f"cannot read {patch.path}: {exc.strerror}") from exc
        if current != patch.before:
            raise MergeguardError(
                f"{patch.path} changed while mergeguard was working", hint="run it again"
            )


def write(root: Path, patches: Sequence[FilePatch]) -> None:
    """Write every patch under ``root`` (verified first: all or nothing)."""
    verify(root, patches)
    targets = [destination(root, patch) for patch in patches]
    for directory in sorted({target.parent for target in targets}):
        remove_stale_temporaries(directory)
    for target, patch in zip(targets, patches, strict=True):
        _write_one(target, patch)


def remove_stale_temporaries(directory: Path, *, now: float | None = None) -> list[Path]:
    """Remove mergeguard's own temporary files in ``directory`` that a killed
    run left behind (regular files, named as ``_write_one`` names them, older
    than ``STALE_AFTER_SECONDS``); return what was removed."""
    moment = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:  # not there yet (a new directory) or unreadable: nothing to clean
        return removed
    for entry in entries:
        if not _TEMPORARY_NAME.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and moment - info.st_mtime > STALE_AFTER_SECONDS:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # removed meanwhile by another run, or not ours to remove
            continue
    return removed


def _write_one(target: Path, patch: FilePatch) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".mergeguard", dir=target.parent
        )
    except OSError as exc:
        raise MergeguardError(f"cannot write {patch.path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(patch.after)
        if patch.before is None:
            _link_new(Path(temporary), target)
        else:
            os.chmod(temporary, target.stat().st_mode & 0o7777)
            os.replace(temporary, target)
    except OSError as exc:
        raise MergeguardError(f"cannot write {patch.path}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _link_new(temporary: Path, target: Path) -> None:
    """Put a new file in place only if the name is free (no race, no clobber)."""
    try:
        os.link(temporary, target)
    except FileExistsError as exc:
        raise MergeguardError(
            f"{target.name} already exists; mergeguard never overwrites a file"
        ) from exc
    except OSError:  # a filesystem without hard links: exclusive create instead
        with open(target, "xb") as stream:
            stream.write(temporary.read_bytes())
    os.chmod(target, 0o644)
