"""The scenarios of ``check``: which refs and trees are base, theirs, ours and
merged (an explicit range, a merge or rebase in progress, pre-commit's pushed
refs, or the tree against the configured base; docs/architecture.md).

``Scenarios`` reads through one Workspace; nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Protocol

from mergeguard.errors import BadArgument, MergeguardError
from mergeguard.git.merged import MergedSnapshot
from mergeguard.git.snapshot import MemoryTree, Snapshot, entries_of
from mergeguard.graph.scenario import MERGE, RANGE, TREE, MergeScenario, PublishedRefs, Side
from mergeguard.model import ToolSettings, replace

if TYPE_CHECKING:
    from mergeguard.app.options import Options
    from mergeguard.git.repository import GitRepository

NULL_SHA = "0" * 40
STAGED_LABEL = "staged changes"
_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
SHALLOW_HINT = (
    "fetch the full history: `git fetch --unshallow` (GitHub Actions: actions/checkout "
    "with `fetch-depth: 0`)"
)


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


class Reading(Protocol):
    """What building a scenario needs from the workspace (app/workspace.py)."""

    repo: GitRepository
    environ: Mapping[str, str]
    options: Options

    def side(
        self, role: str, label: str, snapshot: Snapshot, sha: str | None, *, required: bool
    ) -> Side: ...

    def snapshot(self, ref: str | None = None, *, staged: bool = False) -> Snapshot: ...

    def settings(self, staged: bool = False) -> ToolSettings: ...

    def under_pre_commit(self) -> bool: ...


class Scenarios:
    """The scenarios one workspace can build."""

    def __init__(self, workspace: Reading) -> None:
        self.workspace = workspace
        self.repo = workspace.repo
        self.environ = workspace.environ
        self.options = workspace.options

    def scenario(self, spec: str | None = None, *, staged: bool = False) -> MergeScenario:
        """The scenario ``check`` judges (docs/architecture.md): an explicit range;
        else a merge in progress; else pre-commit's pre-push refs; else the
        tree (the index under pre-commit, see ``under_pre_commit``), against
        the configured base when there is one."""
        if spec:
            left, right = parse_range(spec)
            return self.range_scenario(left, right) if right else self.tree_scenario(left, staged)
        # under pre-commit the commit holds the index, during a merge too
        staged = staged or self.workspace.under_pre_commit()
        merge_head = self.repo.merge_head() if self.repo.work_tree else None
        if merge_head:
            return self.merge_scenario(merge_head, staged)
        if not self.options.base and not self.environ.get("GITHUB_BASE_REF"):
            self.repo.guess_default_branch(self._remote())  # while the settings are read
        pushed = self.pushed_scenario()
        if pushed:
            return pushed
        rebase = self.repo.rebase_state() if self.repo.work_tree else None
        if rebase:  # the branch being rebased, against the commit it goes onto
            onto, branch = rebase
            return self.tree_scenario(
                onto,
                staged,
                label=f"{branch} (being rebased)",
                base_label=f"{self.display_name(onto)} (rebase onto)",
            )
        return self.tree_scenario(self.configured_base(staged), staged)

    def pushed_scenario(self) -> MergeScenario | None:
        """pre-commit's pre-push stage (refs read here: hook arguments are not
        shell-expanded), or hooks/pre-push which sets the same variables.

        The pushed commit is judged as CI will judge it: against the branch it
        will merge into.  The remote's old copy of a feature branch is not
        that target: after a rebase it holds the old versions of the branch's
        own revisions, which are not published.  Without a known target, the
        pushed commit is checked on its own."""
        # pre-commit before 2.2 named them PRE_COMMIT_ORIGIN (from) and PRE_COMMIT_SOURCE (to)
        source = self.environ.get("PRE_COMMIT_FROM_REF") or self.environ.get("PRE_COMMIT_ORIGIN")
        target = self.environ.get("PRE_COMMIT_TO_REF") or self.environ.get("PRE_COMMIT_SOURCE")
        if not source or not target or target == NULL_SHA:
            return None
        pushed = self.environ.get("PRE_COMMIT_LOCAL_BRANCH", "").removeprefix("refs/heads/")
        remote = self._remote()
        base = self.configured_base(
            staged=False, branch=pushed or self.display_name(target), remote=remote
        )
        if base and self.repo.exists(base):
            return self.range_scenario(base, target)
        # no target known: the commit on its own (the remote's old copy of the
        # branch would make the branch's own rewritten revisions look published)
        return self.ref_scenario(target)

    def _remote(self) -> str:
        """The remote whose default branch is the base: the pushed-to one
        under pre-push, else origin."""
        return self.environ.get("PRE_COMMIT_REMOTE_NAME") or "origin"

    def configured_base(
        self, staged: bool, branch: str | None = None, remote: str = "origin"
    ) -> str | None:
        """The branch the work will merge into (docs/architecture.md): ``--base``,
        ``[tool.mergeguard] base``, a GitHub pull request's base branch, the
        remote's default branch, the current branch's upstream unless that is
        its own remote copy, a local ``main``/``master`` other than the current
        branch (``branch``, default the checked-out one); None when there is none."""
        if self.options.base:
            return self.options.base
        settings = self.workspace.settings(staged)
        if settings.base:
            return settings.base
        github_base = self.environ.get("GITHUB_BASE_REF")
        if github_base:
            return f"origin/{github_base}"
        default = self.repo.default_branch(remote) or (
            self.repo.default_branch() if remote != "origin" else None
        )
        if default:
            return default
        branch = branch or self.repo.current_branch()
        upstream = self.repo.upstream()
        if upstream and not (branch and upstream.endswith("/" + branch)):
            return upstream
        local = self.repo.local_default_branch()
        return local if local and local != branch else None

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
        self.repo.resolve_together([left, right])
        left_sha, right_sha = self.repo.resolve(left), self.repo.resolve(right)
        base_tree, base_sha = self.merge_base_tree(left_sha, right_sha)
        theirs_tree, ours_tree = self.repo.tree(left), self.repo.tree(right)
        scenario = self._assemble(
            RANGE,
            (base_tree, base_sha),
            (self.display_name(left), theirs_tree, left_sha),
            (self.display_name(right), ours_tree, right_sha),
        )
        return self.joined_sides(scenario, left_sha, right, right_sha)

    def joined_sides(
        self, scenario: MergeScenario, left_sha: str, right: str, right_sha: str
    ) -> MergeScenario:
        """``A..M`` where M is a merge commit of A and another commit X (GitHub's
        ``refs/pull/N/merge``, or ``main@{1}..main`` after ``git merge``): A is
        the merge base, so A's side adds nothing and the conflicts between A
        and X would go unseen.  The scenario then carries M's own sides (their
        merge base, A, X) for the rules that judge what each side added."""
        if not scenario.fast_forward:
            return scenario  # A is not M's parent: the plain range is right
        parents = self.repo.parents(right_sha)
        if len(parents) != 2 or left_sha not in parents:
            return scenario
        index = 2 if parents[0] == left_sha else 1
        other = parents[index - 1]
        base_tree, base_sha = self.merge_base_tree(left_sha, other)
        name = self.repo.branch_of(other) or f"{self.display_name(right)}^{index}"
        joined = (
            self.workspace.side("base", "merge base", base_tree, base_sha, required=False),
            self.workspace.side(
                "theirs", scenario.theirs.label, self.repo.tree(left_sha), left_sha, required=False
            ),
            self.workspace.side("ours", name, self.repo.tree(other), other, required=False),
        )
        return replace(scenario, joined=joined)

    def display_name(self, ref: str) -> str:
        """How people know a ref: as written, but a bare commit id (pre-push's
        refs, a CI variable) by the branch at it, else its short form."""
        if not _FULL_SHA.fullmatch(ref):
            return ref
        return self.repo.branch_of(ref) or ref[:7]

    def merge_scenario(self, merge_head: str, staged: bool) -> MergeScenario:
        """A merge in progress: HEAD and MERGE_HEAD, the tree is the merge."""
        head = self.repo.resolve("HEAD")
        base_tree, base_sha = self.merge_base_tree(head, merge_head)
        merged = self.workspace.snapshot(staged=staged)
        ours_label = self.repo.current_branch() or "HEAD"
        return self._assemble(
            MERGE,
            (base_tree, base_sha),
            (self._merge_head_label(merge_head), self.repo.tree(merge_head), merge_head),
            (ours_label, self.repo.tree(head), head),
            merged=merged,
        )

    def _merge_head_label(self, merge_head: str) -> str:
        """``MERGE_HEAD (feature)``: the name ``git merge`` was given, from MERGE_MSG."""
        name = self.repo.merge_head_name() or self.display_name(merge_head)
        return f"MERGE_HEAD ({name})"

    def tree_scenario(
        self,
        base_ref: str | None,
        staged: bool,
        *,
        label: str | None = None,
        base_label: str | None = None,
    ) -> MergeScenario:
        """The working tree (or index) itself, against ``base_ref`` when given."""
        tree = self.workspace.snapshot(staged=staged)
        label = label or (STAGED_LABEL if staged else "working tree")
        if base_ref is not None:
            self.repo.resolve_together(["HEAD", base_ref])
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
        sha, name = self.repo.resolve(ref), self.display_name(ref)
        return self.alone(self.repo.tree(ref), name, sha)

    def alone(self, tree: Snapshot, label: str, sha: str | None) -> MergeScenario:
        """One tree on its own, every side of the scenario (``status``: the
        tree the deployed databases are judged against)."""
        return self._assemble(
            TREE, (tree, sha), (label, tree, sha), (label, tree, sha), has_base=False
        )

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
        self.repo.prefetch_trees((base_sha, their_sha, our_sha))
        conflicts: tuple[PurePosixPath, ...] = ()
        fast_forward = their_sha is not None and their_sha == base_sha
        if merged is None and (fast_forward or not has_base):
            merged = our_tree
        elif merged is None:
            merged_tree = MergedSnapshot(
                base_tree, their_tree, our_tree, f"merge of {their_label} and {our_label}"
            )
            conflicts, merged = merged_tree.conflicts, merged_tree
        checked = merged if kind == MERGE else our_tree
        # ours first: often the index or the work tree, listed already, read
        # while git still lists the commits' trees (prefetched above)
        ours_side = self.workspace.side(
            "ours", our_label, our_tree, our_sha, required=kind != MERGE
        )
        base_side = self.workspace.side("base", "merge base", base_tree, base_sha, required=False)
        theirs_side = (
            replace(base_side, role="theirs", label=their_label, memo={})
            if fast_forward  # the same commit: read it once
            else self.workspace.side("theirs", their_label, their_tree, their_sha, required=False)
        )
        merged_side = (
            ours_side
            if merged is our_tree
            else self.workspace.side("merged", "merge", merged, None, required=kind == MERGE)
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
            published=self.published_refs(our_sha),
            via_pre_commit=self.environ.get("PRE_COMMIT") == "1",
        )

    def published_refs(self, ours_sha: str | None) -> PublishedRefs:
        """``[tool.mergeguard] published`` refs (tags, release branches), each
        read only if a rule asks (see PublishedRefs), and which of them the
        checked commit (``ours_sha``, else HEAD) already contains."""
        patterns = self.workspace.settings(self.workspace.under_pre_commit()).published
        if not patterns:
            return PublishedRefs()
        refs = self.repo.matching_refs(patterns)
        contained = ours_sha or self._head()
        below = self.repo.matching_refs(patterns, merged_into=contained) if contained else ()

        def load(ref: str) -> Side:
            name = self.repo.short_name(ref)
            return self.workspace.side("published", name, self.repo.tree(ref), None, required=False)

        return PublishedRefs(refs, frozenset(below), load)


def changed_paths(
    base: Snapshot, side: Snapshot, directories: Sequence[PurePosixPath]
) -> frozenset[PurePosixPath]:
    """Files below ``directories`` (the version locations: nothing else is
    judged) that ``side`` added or changed compared with ``base``; compared as
    plain strings, so only the changed paths become path objects."""
    changed: set[str] = set()
    for directory in dict.fromkeys(directories):
        before = entries_of(base, directory)
        after = entries_of(side, directory)
        changed.update(key for key, _ in set(after).difference(before))
    return frozenset(PurePosixPath(key) for key in changed)


def _locations(side: Side) -> list[PurePosixPath]:
    """Every version location of the side's environments."""
    return [
        location for read in side.reads.values() for location in read.environment.version_locations
    ]
