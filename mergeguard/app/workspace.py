"""The edge between the command line and the core: a repository, its
configuration at each snapshot, one parse cache for the whole run, the
project's rule selection, and the sides of a scenario read through the cache
(which refs are base, theirs, ours and merged: ``scenarios.py``).

Commands ask a Workspace for snapshots and reads; nothing here prints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mergeguard.app.options import Options
from mergeguard.app.scenarios import Scenarios
from mergeguard.config.discovery import discover, read_settings, require_script_locations
from mergeguard.errors import BadArgument, MergeguardError
from mergeguard.git.snapshot import Snapshot
from mergeguard.graph.cache import (
    ParseCache,
    Warn,
    default_cache_path,
    default_operations_path,
)
from mergeguard.graph.cache_records import RecordStore, default_records_path
from mergeguard.graph.environments import CACHE_NAMESPACE, EnvironmentRead, Reader
from mergeguard.graph.scenario import MergeScenario, Side
from mergeguard.model import Config, ToolSettings

if TYPE_CHECKING:
    from mergeguard.rules.run import Selection

__all__ = ["Options", "Workspace"]


class Workspace:
    """One repository opened for one command run."""

    def __init__(
        self,
        options: Options,
        environ: Mapping[str, str] | None = None,
        warn: Warn | None = None,
    ) -> None:
        """``warn`` receives notes for the user (a parse cache that cannot be used)."""
        from mergeguard.git.opening import open_repository  # git only when a command runs

        self.options = options
        self.environ = os.environ if environ is None else environ
        self.repo = open_repository(options.directory)
        cache_path = default_cache_path(self.repo.common_dir)
        self.cache = ParseCache(cache_path, CACHE_NAMESPACE, warn)
        records = RecordStore(default_records_path(self.repo.common_dir), CACHE_NAMESPACE, warn)
        operations_path = default_operations_path(self.repo.common_dir)
        self.operations_cache = ParseCache(operations_path, CACHE_NAMESPACE, warn)
        self.reader = Reader(self.cache, records, operations_cache=self.operations_cache)
        self._settings: dict[bool, ToolSettings] = {}
        self._snapshots: dict[tuple[str | None, bool], Snapshot] = {}

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
        """A ref's tree, the index (``staged``), or the work tree (HEAD when bare);
        memoized: settings and the scenario ask for the same trees, and each
        listing costs a git process (or three, for the work tree)."""
        key = (ref, staged)
        found = self._snapshots.get(key)
        if found is None:
            if ref is not None:
                found = self.repo.tree(ref)
            elif staged:
                found = self.repo.index()
            elif self.repo.work_tree is None:
                found = self.repo.tree("HEAD")
            else:
                found = self.repo.worktree()
            self._snapshots[key] = found
        return found

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
        config = self.config(snapshot)
        require_script_locations(config, snapshot)
        return self.reader.read(snapshot, config)

    def close(self) -> None:
        self.cache.save()
        self.operations_cache.save()
        self.reader.records.save()

    # -- scenarios and settings ------------------------------------------------------

    def scenario(self, spec: str | None = None, *, staged: bool = False) -> MergeScenario:
        """The scenario ``check`` judges (see ``Scenarios.scenario``)."""
        return Scenarios(self).scenario(spec, staged=staged)

    def ref_scenario(self, ref: str) -> MergeScenario:
        """One commit on its own (``apply REF``)."""
        return Scenarios(self).ref_scenario(ref)

    def under_pre_commit(self) -> bool:
        """True when pre-commit runs us (it exports ``PRE_COMMIT=1`` to its
        hooks) in a work tree: its pre-commit stage commits the index, so the
        index is what to check, not untracked files lying in the work tree.
        Hook ``args`` apply to every stage, hence the environment, not
        ``--staged``.  The pre-push stage is told apart by its refs
        (``pushed_scenario``), which ``scenario`` looks at first."""
        return self.environ.get("PRE_COMMIT") == "1" and self.repo.work_tree is not None

    def settings(self, staged: bool = False) -> ToolSettings:
        """``[tool.mergeguard]`` of the tree being worked on: the index when
        ``staged``, else the working tree (defaults if unreadable); memoized per tree."""
        found = self._settings.get(staged)
        if found is None:
            try:
                found = read_settings(self.snapshot(staged=staged))
            except MergeguardError:
                found = ToolSettings()
            self._settings[staged] = found
        return found

    def selection(
        self, select: tuple[str, ...] = (), ignore: tuple[str, ...] = (), *, staged: bool = False
    ) -> Selection:
        """The rules that report: the command line's ``select`` (else the
        project's), the project's ``ignore`` plus the command line's; the
        settings read as ``check`` reads them (the index under pre-commit)."""
        from mergeguard.rules.run import Selection, unknown_selectors  # only check needs rules

        settings = self.settings(staged or self.under_pre_commit())
        unknown = unknown_selectors(settings.select + settings.ignore)
        if unknown:  # as on the command line: a typo must not silence a rule
            raise BadArgument(
                f"pyproject.toml: [tool.mergeguard] select / ignore name no rule: "
                f"{', '.join(unknown)}",
                hint="use rule codes, prefixes or names (`mergeguard rules` lists them)",
            )
        return Selection(select or settings.select, settings.ignore + ignore)

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
