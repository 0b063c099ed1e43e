"""The edge between the command line and the core: a repository, its
configuration at each snapshot, and one parse cache for the whole run.

Commands ask a Workspace for snapshots (a ref, the index, the work tree) and
for the environments read from them; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mergeguard.cache import ParseCache, default_cache_path
from mergeguard.config import discover
from mergeguard.engine import CACHE_NAMESPACE, EnvironmentRead, Reader
from mergeguard.errors import MergeguardError
from mergeguard.model import Config
from mergeguard.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Options:
    """The common command-line options (``-C``, ``-c``, ``-n``, ``--versions``, ``--base``)."""

    directory: Path = Path(".")
    config: Path | None = None
    name: str | None = None
    versions: tuple[Path, ...] = ()
    base: str | None = None


class Workspace:
    """One repository opened for one command run."""

    def __init__(self, options: Options) -> None:
        from mergeguard.gitsource import open_repository  # git only when a command runs

        self.options = options
        self.repo = open_repository(options.directory)
        self.cache = ParseCache(default_cache_path(self.repo.common_dir), CACHE_NAMESPACE)
        self._readers: dict[int, Reader] = {}

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
            start_dir=self.start_dir(),
        )

    def read(self, snapshot: Snapshot) -> tuple[EnvironmentRead, ...]:
        """Every environment configured at ``snapshot``, read through the cache."""
        config = self.config(snapshot)
        reader = Reader(self.cache, dict(config.settings.constants))
        return reader.read(snapshot, config)

    def close(self) -> None:
        self.cache.save()
