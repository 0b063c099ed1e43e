"""The edge between the command line and the core: a repository, its
configuration at each snapshot, one parse cache for the whole run, and the
scenarios of ``check`` (which refs and trees are base, theirs, ours, merged).

Commands ask a Workspace for snapshots and reads; nothing here prints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from mergeguard.cache import ParseCache, default_cache_path
from mergeguard.config import discover
from mergeguard.engine import CACHE_NAMESPACE, EnvironmentRead, Reader
from mergeguard.errors import BadArgument, MergeguardError
from mergeguard.model import Config, ToolSettings
from mergeguard.scenario import MERGE, RANGE, TREE, MergedTree, MergeScenario, Side, changed_paths
from mergeguard.snapshot import MemoryTree, Snapshot

NULL_SHA = "0" * 40
SHALLOW_HINT = (
    "fetch the full history: `git fetch --unshallow` (GitHub Actions: actions/checkout "
    "with `fetch-depth: 0`)"
)


@dataclass(frozen=True, slots=True)
class Options:
    """The common command-line options (``-C``, ``-c``, ``-n``, ``--versions``,
    ``--base``, ``--recursive``)."""

    directory: Path = Path(".")
    config: Path | None = None
    name: str | None = None
    versions: tuple[Path, ...] = ()
    base: str | None = None
    recursive: bool = False


def parse_range(spec: str) -> tuple[str, str | None]:
    """``A..B`` / ``A...B`` -> (A, B); an empty side is HEAD; a single ref
    ``R`` -> (R, None): the working tree checked against R.  More than one
    separator (``a..b..c``, ``a....b``) is a bad range, not an unknown ref."""
    for separator in ("...", ".."):
        if separator in spec:
            left, _, right = spec.partition(separator)
            if ".." in right or right.startswith(".") or left.endswith("."):
                raise BadArgument(
                    f"bad range `{spec}`: a range is two refs, A..B or A...B",
                    hint="write one range, e.g. `mergeguard check main..feature`",
                )
            return left or "HEAD", right or "HEAD"
    return spec, None


class Workspace:
    """One repository opened for one command run."""

    def __init__(self, options: Options, environ: Mapping[str, str] | None = None) -> None:
        from mergeguard.gitsource import open_repository  # git only when a command runs

        self.options = options
        self.environ = os.environ if environ is None else environ
        self.repo = open_repository(options.directory)
        self.cache = ParseCache(default_cache_path(self.repo.common_dir), CACHE_NAMESPACE)
        self.reader = Reader(self.cache)
        self._settings: dict[bool, ToolSettings] = {}

    # -- reading -------------------------------------------------------------------

    def repo_path(self, path: Path) -> PurePosixPath:
        """A user-given path (relative to ``-C``) as a repository-relative path."""
        target = path if path.is_absolute() else self.options.directory / path
        if self.repo.work_tree is None:
            return PurePosixPath(path.as_posix())
        return self.repo.relative_to_root(target)

    def start_dir(self) -> PurePosixPath:
        if self.repo.work_tree is None:
            return PurePosixPath(".")
        try:
            return self.repo.relative_to_root(self.options.directory)
        except MergeguardError:
            return PurePosixPath(".")

    def snapshot(self, ref: str | None = None, *, staged: bool = False) -> Snapshot:
        """A ref's tree, the index (``staged``), or the work tree (HEAD when bare)."""
        if ref is not None:
            return self.repo.tree(ref)
        if staged:
            return self.repo.index()
        if self.repo.work_tree is None:
            return self.repo.tree("HEAD")
        return self.repo.worktree()

    def config(self, snapshot: Snapshot) -> Config:
        options = self.options
        return discover(
            snapshot,
            config_path=self.repo_path(options.config) if options.config else None,
            section=options.name,
            versions=tuple(self.repo_path(v) for v in options.versions),
            recursive=options.recursive,
            start_dir=self.start_dir(),
        )

    def read(self, snapshot: Snapshot) -> tuple[EnvironmentRead, ...]:
        """Every environment configured at ``snapshot``, read through the cache."""
        return self.reader.read(snapshot, self.config(snapshot))

    def close(self) -> None:
        self.cache.save()

    # -- scenarios -----------------------------------------------------------------

    def scenario(self, spec: str | None = None, *, staged: bool = False) -> MergeScenario:
        """The scenario ``check`` judges (DESIGN.md "Ranges"): an explicit range;
        else a merge in progress; else pre-commit's pre-push refs; else the
        tree (the index under pre-commit, see ``under_pre_commit``), against
        the configured base when there is one."""
        if spec:
            left, right = parse_range(spec)
            return self.range_scenario(left, right) if right else self.tree_scenario(left, staged)
        merge_head = self.repo.merge_head() if self.repo.work_tree else None
        if merge_head:
            return self.merge_scenario(merge_head, staged)
        pushed = self.pushed_range()
        if pushed:
            return self.range_scenario(*pushed)
        rebase = self.repo.rebase_state() if self.repo.work_tree else None
        if rebase:  # the branch being rebased, against the commit it goes onto
            onto, branch = rebase
            return self.tree_scenario(
                onto,
                staged,
                label=f"{branch} (being rebased)",
                base_label=f"{onto[:7]} (rebase onto)",
            )
        staged = staged or self.under_pre_commit()
        return self.tree_scenario(self.configured_base(staged), staged)

    def under_pre_commit(self) -> bool:
        """True when pre-commit runs us (it exports ``PRE_COMMIT=1`` to its
        hooks) in a work tree: its pre-commit stage commits the index, so the
        index is what to check, not untracked files lying in the work tree.
        Hook ``args`` apply to every stage, hence the environment, not
        ``--staged``.  The pre-push stage is told apart by its refs
        (``pushed_range``), which ``scenario`` looks at first."""
        return self.environ.get("PRE_COMMIT") == "1" and self.repo.work_tree is not None

    def settings(self, staged: bool = False) -> ToolSettings:
        """``[tool.mergeguard]`` of the tree being worked on: the index when
        ``staged``, else the working tree (defaults if unreadable); memoized per tree."""
        found = self._settings.get(staged)
        if found is None:
            try:
                found = self.config(self.snapshot(staged=staged)).settings
            except MergeguardError:
                found = ToolSettings()
            self._settings[staged] = found
        return found

    def pushed_range(self) -> tuple[str, str] | None:
        """pre-commit's pre-push stage: the remote's ref and the pushed one
        (read here: hook arguments are not shell-expanded)."""
        source = self.environ.get("PRE_COMMIT_FROM_REF") or self.environ.get("PRE_COMMIT_SOURCE")
        target = self.environ.get("PRE_COMMIT_TO_REF") or self.environ.get("PRE_COMMIT_ORIGIN")
        if source and target and source != NULL_SHA and target != NULL_SHA:
            return source, target
        return None

    def configured_base(self, staged: bool) -> str | None:
        """``--base``, ``[tool.mergeguard] base``, a GitHub pull request's base
        branch, or the current branch's upstream (None when there is none)."""
        if self.options.base:
            return self.options.base
        settings = self.settings(staged)
        if settings.base:
            return settings.base
        github_base = self.environ.get("GITHUB_BASE_REF")
        if github_base:
            return f"origin/{github_base}"
        return self.repo.upstream()

    def side(
        self, role: str, label: str, snapshot: Snapshot, sha: str | None, *, required: bool
    ) -> Side:
        """One side read.  Only the checked side must have an Alembic
        configuration: a base from before Alembic was set up simply has no
        revisions."""
        try:
            reads = self.read(snapshot)
        except MergeguardError:
            if required:
                raise
            reads = ()
        return Side(
            role,
            label,
            snapshot.origin,
            sha,
            {r.environment.name: r for r in reads},
            load_operations=lambda scripts: self.reader.operations(snapshot, scripts),
            snapshot=snapshot,
        )

    def merge_base_tree(self, left: str, right: str) -> tuple[Snapshot, str | None]:
        """The merge base of two commits as a snapshot (an empty tree when the
        histories share nothing); a shallow clone without it cannot be checked."""
        base = self.repo.merge_base(left, right)
        if base is not None:
            return self.repo.tree(base), base
        if self.repo.is_shallow():
            raise MergeguardError(
                f"{left[:12]} and {right[:12]} have no merge base in this shallow clone",
                hint=SHALLOW_HINT,
            )
        return MemoryTree({}, origin="(no common ancestor)"), None

    def range_scenario(self, left: str, right: str) -> MergeScenario:
        """``check A..B``: theirs = A, ours = B, merged = git merge of both."""
        left_sha, right_sha = self.repo.resolve(left), self.repo.resolve(right)
        base_tree, base_sha = self.merge_base_tree(left_sha, right_sha)
        theirs_tree, ours_tree = self.repo.tree(left), self.repo.tree(right)
        return self._assemble(
            RANGE,
            (base_tree, base_sha),
            (left, theirs_tree, left_sha),
            (right, ours_tree, right_sha),
        )

    def merge_scenario(self, merge_head: str, staged: bool) -> MergeScenario:
        """A merge in progress: HEAD and MERGE_HEAD, the tree is the merge."""
        head = self.repo.resolve("HEAD")
        base_tree, base_sha = self.merge_base_tree(head, merge_head)
        merged = self.snapshot(staged=staged)
        ours_label = self.repo.current_branch() or "HEAD"
        return self._assemble(
            MERGE,
            (base_tree, base_sha),
            (f"MERGE_HEAD ({merge_head[:7]})", self.repo.tree(merge_head), merge_head),
            (ours_label, self.repo.tree(head), head),
            merged=merged,
        )

    def tree_scenario(
        self,
        base_ref: str | None,
        staged: bool,
        *,
        label: str | None = None,
        base_label: str | None = None,
    ) -> MergeScenario:
        """The working tree (or index) itself, against ``base_ref`` when given."""
        tree = self.snapshot(staged=staged)
        label = label or ("index" if staged else "working tree")
        head = self._head()
        if base_ref is None:
            head_tree = self.repo.tree("HEAD") if head else MemoryTree({}, origin="(no commits)")
            return self._assemble(
                TREE,
                (head_tree, head),
                ("HEAD", head_tree, head),
                (label, tree, None),
                has_base=False,
            )
        base_sha = self.repo.resolve(base_ref)
        base_tree, merge_base = (
            self.merge_base_tree(base_sha, head) if head else (MemoryTree({}), None)
        )
        return self._assemble(
            TREE,
            (base_tree, merge_base),
            (base_label or base_ref, self.repo.tree(base_ref), base_sha),
            (label, tree, None),
        )

    def ref_scenario(self, ref: str) -> MergeScenario:
        """One commit on its own (``apply REF``): its heads, its forks."""
        sha = self.repo.resolve(ref)
        tree = self.repo.tree(ref)
        return self._assemble(TREE, (tree, sha), (ref, tree, sha), (ref, tree, sha), has_base=False)

    def _head(self) -> str | None:
        try:
            return self.repo.resolve("HEAD")
        except MergeguardError:
            return None  # a repository without commits yet

    def _assemble(
        self,
        kind: str,
        base: tuple[Snapshot, str | None],
        theirs: tuple[str, Snapshot, str | None],
        ours: tuple[str, Snapshot, str | None],
        *,
        merged: Snapshot | None = None,
        has_base: bool = True,
    ) -> MergeScenario:
        base_tree, base_sha = base
        their_label, their_tree, their_sha = theirs
        our_label, our_tree, our_sha = ours
        conflicts: tuple[PurePosixPath, ...] = ()
        fast_forward = their_sha is not None and their_sha == base_sha
        if merged is None and (fast_forward or not has_base):
            merged = our_tree
        elif merged is None:
            merged_tree = MergedTree(
                base_tree, their_tree, our_tree, f"merge of {their_label} and {our_label}"
            )
            conflicts, merged = merged_tree.conflicts, merged_tree
        checked = merged if kind == MERGE else our_tree
        base_side = self.side("base", "merge base", base_tree, base_sha, required=False)
        theirs_side = (
            replace(base_side, role="theirs", label=their_label, memo={})
            if fast_forward  # the same commit: read it once
            else self.side("theirs", their_label, their_tree, their_sha, required=False)
        )
        ours_side = self.side("ours", our_label, our_tree, our_sha, required=kind != MERGE)
        merged_side = (
            ours_side
            if merged is our_tree
            else self.side("merged", "merge", merged, None, required=kind == MERGE)
        )
        checked_side = merged_side if kind == MERGE else ours_side
        return MergeScenario(
            kind=kind,
            base=base_side,
            theirs=theirs_side,
            ours=ours_side,
            merged=merged_side,
            touched=changed_paths(base_tree, checked, _locations(checked_side)),
            conflicts=conflicts,
            has_base=has_base,
            via_pre_commit=self.environ.get("PRE_COMMIT") == "1",
        )


def _locations(side: Side) -> list[PurePosixPath]:
    """Every version location of the side's environments."""
    return [
        location for read in side.reads.values() for location in read.environment.version_locations
    ]
