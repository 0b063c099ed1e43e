"""Running git and reading what it prints: the plumbing layer below the repository.

Every git call goes through ``run_git``: bounded in time and output
(``mergeguard.git.process``), with git's own message on failure.  The parsers
check that the output is what the command prints (NUL-terminated records,
object ids, ref names) and refuse anything else, so a broken or hostile git on
PATH is an error naming the command, never a wrong answer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from mergeguard.errors import MergeguardError
from mergeguard.git import process as bounded_process

EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
_REGULAR_MODES = frozenset({"100644", "100755"})
OBJECT_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")

BlobMap = dict[str, str]


# Every git call ends: a git that hangs (a credential prompt, a stuck network
# filesystem, a broken wrapper) would hang CI with it.  Generous, since one
# ``cat-file --batch`` reads every migration of a large repository.
GIT_TIMEOUT_SECONDS = 120.0
GIT_TIMEOUT_VARIABLE = "MERGEGUARD_GIT_TIMEOUT"
# What one git call may print: far more than every migration of a large
# repository in one ``cat-file --batch``, far less than exhausts memory.
GIT_OUTPUT_LIMIT = 256 * 1024**2


def run_git(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    input: bytes | None = None,
    check: bool = True,
) -> bounded_process.Finished:
    """The finished ``git`` process (stdout and stderr captured as bytes, bounded).

    With ``check`` a non-zero exit becomes a MergeguardError carrying git's own
    message, so callers never see a CalledProcessError traceback.
    """
    argv = ["git", "-c", "core.quotepath=off", *args]
    timeout = git_timeout(env)
    try:
        proc = bounded_process.run(
            argv, cwd=cwd, env=env, input=input, timeout=timeout, limit=GIT_OUTPUT_LIMIT
        )
    except OSError as exc:
        raise _cannot_start(cwd, exc) from exc
    except bounded_process.TimedOut as exc:
        raise MergeguardError(
            f"git {args[0]} did not finish within {timeout:g} seconds (stopped)",
            hint=f"check that `git {args[0]}` works by hand in {cwd}; "
            f"set {GIT_TIMEOUT_VARIABLE}=SECONDS to allow longer",
        ) from exc
    except bounded_process.TooMuchOutput as exc:
        raise MergeguardError(
            f"git {args[0]} printed more than {GIT_OUTPUT_LIMIT // 1024**2} MiB (stopped)",
            hint="check which git runs (`command -v git`) and that `git --version` works",
        ) from exc
    if check and proc.returncode != 0:
        raise MergeguardError(
            f"git {args[0]} failed: {one_line(proc.stderr)}",
            hint="run the same git command by hand to see what git needs",
        )
    return proc


def git_timeout(env: Mapping[str, str]) -> float:
    """Seconds one git call may take: ``MERGEGUARD_GIT_TIMEOUT``, else the default."""
    return seconds_from(env, GIT_TIMEOUT_VARIABLE, GIT_TIMEOUT_SECONDS)


def seconds_from(env: Mapping[str, str], variable: str, default: float) -> float:
    """A time limit set in the environment as ``variable``, else ``default``;
    MergeguardError for anything but a positive, finite number of seconds."""
    value = env.get(variable, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise MergeguardError(
            f"{variable}={value!r} is not a number of seconds",
            hint=f"set {variable} to a positive number, or unset it",
        )
    return seconds


def _cannot_start(cwd: Path, exc: OSError) -> MergeguardError:
    """The error for a git process that could not start: no git, or no directory."""
    if not cwd.is_dir():
        return MergeguardError(f"{cwd} does not exist", hint="pass an existing directory")
    if isinstance(exc, FileNotFoundError):
        return MergeguardError(
            "git is not installed (no `git` executable on PATH)",
            hint="install git, or add it to PATH",
        )
    return MergeguardError(f"cannot run git: {exc}", hint="check that git is installed")


def garbled(command: str, out: bytes) -> MergeguardError:
    """The error for git output that is not what the command prints."""
    excerpt = out[:60].decode("utf-8", errors="replace")
    more = f" ... ({len(out)} bytes)" if len(out) > 60 else ""
    return MergeguardError(
        f"git {command} printed something git does not print: {excerpt!r}{more}",
        hint="check which git runs (`command -v git`) and that `git --version` works",
    )


def object_id(command: str, out: bytes) -> str:
    """The one object id ``out`` holds (``rev-parse``, ``merge-base``), else an error."""
    text = out.strip()
    if not OBJECT_ID.fullmatch(text.decode("ascii", errors="replace")):
        raise garbled(command, out)
    return text.decode("ascii")


# What ``git check-ref-format`` never allows in a ref name (and so never prints).
_NOT_IN_REF_NAMES = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{")


def ref_names(command: str, out: bytes) -> list[str]:
    """The ref names of ``out``, one a line; an error when one could not be a ref."""
    names = [n for n in out.decode("utf-8", errors="replace").split("\n") if n]
    if any(_NOT_IN_REF_NAMES.search(n) for n in names):
        raise garbled(command, out)
    return names


def absolute_directory(command: str, out: bytes, text: str) -> Path:
    """A directory git printed: absolute, existing, else an error."""
    if "\0" in text or not os.path.isabs(text) or not os.path.isdir(text):
        raise garbled(command, out)
    return Path(text)


def one_line(stderr: bytes) -> str:
    """git's error text joined on one line, for a message that fits a terminal line."""
    text = stderr.decode("utf-8", errors="replace").strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip()) or "no message"


def base_env() -> dict[str, str]:
    """The caller's environment, with optional locks off and GIT_INDEX_FILE absolute.

    ``GIT_INDEX_FILE`` is kept (a pre-commit hook run by ``git commit -a``
    points it at the index being committed) but made absolute, because git
    runs later with another working directory.
    """
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"
    index_file = env.get("GIT_INDEX_FILE")
    if index_file:
        env["GIT_INDEX_FILE"] = os.path.abspath(index_file)
    return env


def split_z(out: bytes, command: str) -> list[str]:
    """The records of a ``-z`` (NUL-terminated) git output, decoded, without the empty tail.

    Decoded once as a whole with the filesystem encoding (undecodable bytes
    kept as surrogates), so a path maps back to the same file on disk.
    Output that does not end in NUL is not git's: an error.
    """
    if out and not out.endswith(b"\0"):
        raise garbled(command, out)
    return [record for record in os.fsdecode(out).split("\0") if record]


def _records(pattern: re.Pattern[str], out: bytes, command: str) -> list[tuple[str, ...]]:
    """The groups of every ``pattern`` record in ``out``, which must consist of them.

    A match starts at a record's start and ends at its NUL, so one match per
    NUL, and a NUL at the end, mean every record matched whole: checked by
    counting, without a second pass of the pattern."""
    text = os.fsdecode(out)
    found: list[tuple[str, ...]] = pattern.findall(text)
    if len(found) != text.count("\0") or not text.endswith("\0") and text:
        raise garbled(command, out)
    return found


# --------------------------------------------------------------------------- parsing listings

# One match per NUL-terminated record, anchored at a record start.
_LS_TREE = re.compile(r"(?<![^\0])(\d+) \w+ ([0-9a-f]+)\t([^\0]*)\0")
_LS_FILES = re.compile(r"(?<![^\0])(\S) (\d+) ([0-9a-f]+) (\d)\t([^\0]*)\0")

# The usual listing, every record a regular file with a SHA-1 id (in the index:
# stage 0, verified against the disk): its fields sit at fixed places, so a
# record is sliced instead of matched field by field (half the time, at the
# start of every pre-commit run).
_PLAIN_LS_TREE = re.compile(r"(?:100(?:644|755) blob [0-9a-f]{40}\t[^\0]*\0)*")
_PLAIN_LS_FILES = re.compile(r"(?:H 100(?:644|755) [0-9a-f]{40} 0\t[^\0]*\0)*")


def _plain_records(
    pattern: re.Pattern[str], out: bytes, sha_at: int, path_at: int
) -> BlobMap | None:
    """Path -> blob id when every record of ``out`` is plain (``pattern``
    matches the whole text), else None (the records are then parsed one by one)."""
    text = os.fsdecode(out)
    if pattern.fullmatch(text) is None:
        return None
    records = text.split("\0")
    records.pop()  # after the last NUL
    paths = [r[path_at:] for r in records]
    return dict(zip(paths, [r[sha_at : sha_at + 40] for r in records], strict=True))


def parse_ls_tree(out: bytes) -> BlobMap:
    """Path -> blob id of the regular files in ``ls-tree -r -z`` output.

    Gitlinks (submodules, mode 160000) and symlinks (120000) are skipped: only
    regular files can be migrations or configuration.
    """
    plain = _plain_records(_PLAIN_LS_TREE, out, sha_at=12, path_at=53)
    if plain is not None:
        return plain
    records = _records(_LS_TREE, out, "ls-tree")
    return {path: sha for mode, sha, path in records if mode in _REGULAR_MODES}


def parse_ls_files(out: bytes) -> tuple[BlobMap, set[str]]:
    """Path -> staged blob id from ``ls-files -s -v -z``, and the unverified paths.

    Stage 0 is the normal entry; a path in conflict (stages 1/2/3 only) is
    taken at stage 2, "ours".  Unverified paths are those git does not check
    against the disk (skip-worktree ``S``, assume-unchanged lowercase tags):
    their work-tree content must be hashed, never trusted to match the index.
    """
    plain = _plain_records(_PLAIN_LS_FILES, out, sha_at=9, path_at=52)
    if plain is not None:
        return plain, set()
    blobs: BlobMap = {}
    unverified: set[str] = set()
    for tag, mode, sha, stage, path in _records(_LS_FILES, out, "ls-files"):
        if mode not in _REGULAR_MODES or stage not in ("0", "2"):
            continue
        blobs[path] = sha
        if tag == "S" or tag.islower():
            unverified.add(path)
    return blobs, unverified


def parse_batch(out: bytes, wanted: Sequence[str]) -> dict[str, bytes]:
    """Blob id -> bytes from a ``cat-file --batch`` stream answering ``wanted`` in order.

    Each answer is ``<id> blob <size>\\n<data>\\n``; anything else (``missing``,
    a tree, a truncated stream) is a MergeguardError naming the object.
    """
    found: dict[str, bytes] = {}
    pos = 0
    for wanted_id in wanted:
        eol = out.find(b"\n", pos)
        header = out[pos:eol].split(b" ") if eol >= 0 else []
        if len(header) != 3 or header[1] != b"blob" or header[0] != wanted_id.encode():
            raise MergeguardError(
                f"git object {wanted_id} is missing or is not a file",
                hint="run `git fsck`; in a partial clone, fetch the missing objects first",
            )
        start = eol + 1
        end = start + int(header[2]) if header[2].isdigit() else len(out) + 1
        if end > len(out):
            raise garbled("cat-file", out[pos:])
        found[wanted_id] = out[start:end]
        pos = end + 1
    return found
