"""The only module that writes files: patches, atomically, never clobbering.

A new file is written to a temporary file in the same directory and then
hard-linked into place, which fails if the name exists: nothing is ever
overwritten.  A changed file must still hold exactly the bytes the change was
computed from, and is replaced with ``os.replace`` (atomic on POSIX).  Every
patch is verified before the first one is written.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mergeguard.errors import MergeguardError
from mergeguard.model import FilePatch


def unified_diff(patch: FilePatch) -> str:
    """The patch as ``diff -u`` text (``/dev/null`` for a new file)."""
    before = (patch.before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    after = patch.after.decode("utf-8", "replace").splitlines(keepends=True)
    old = "/dev/null" if patch.before is None else f"a/{patch.path}"
    lines = difflib.unified_diff(before, after, old, f"b/{patch.path}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def verify(root: Path, patches: Sequence[FilePatch]) -> None:
    """Raise MergeguardError unless every patch still applies as computed."""
    for patch in patches:
        target = root / patch.path
        if patch.before is None:
            if target.exists():
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
    for patch in patches:
        _write_one(root / patch.path, patch)


def _write_one(target: Path, patch: FilePatch) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".mergeguard", dir=target.parent
    )
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
