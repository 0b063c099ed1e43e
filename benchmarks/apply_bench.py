"""``mergeguard apply`` against one plain ``alembic upgrade heads`` (DESIGN.md:
apply on a 50-revision history with two sibling branches, all orders, SQLite,
should cost at most 3x one plain upgrade).

    python benchmarks/apply_bench.py [--revisions 50] [--repeat 3] [--workdir DIR]

Builds a real Alembic project (``alembic init``), a linear history, then two
sibling branches of five revisions each joined by a merge revision, and
prints the median wall-clock of each command beside their ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **GIT_ENV, **(env or {})},
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")


def revision(root: Path, rev: str, head: str, upgrade: str, downgrade: str) -> None:
    splice = ["--splice"] if head not in ("head",) else []
    run(
        [
            sys.executable,
            "-m",
            "alembic",
            "revision",
            "-m",
            f"rev {rev}",
            "--rev-id",
            rev,
            "--head",
            head,
            *splice,
        ],
        root,
    )
    [path] = (root / "migrations" / "versions").glob(f"{rev}_*.py")
    text = path.read_text()
    text = text.replace(
        '    """Upgrade schema."""\n    pass', f'    """Upgrade schema."""\n    {upgrade}'
    )
    text = text.replace(
        '    """Downgrade schema."""\n    pass', f'    """Downgrade schema."""\n    {downgrade}'
    )
    path.write_text(text)


def table(name: str) -> tuple[str, str]:
    return (
        f"op.create_table('{name}', sa.Column('id', sa.Integer(), primary_key=True), "
        f"sa.Column('name', sa.String(50)))",
        f"op.drop_table('{name}')",
    )


def build(root: Path, revisions: int) -> None:
    """``revisions`` in all: a linear trunk, two branches of 5, one merge."""
    root.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], root)
    run([sys.executable, "-m", "alembic", "init", "migrations"], root)
    ini = root / "alembic.ini"
    ini.write_text(
        ini.read_text().replace("driver://user:pass@localhost/dbname", "sqlite:///app.db")
    )
    (root / ".gitignore").write_text("*.db\n__pycache__/\n")
    trunk = revisions - 11
    previous = "head"
    for i in range(trunk):
        revision(root, f"t{i:03}", previous, *table(f"trunk_{i}"))
        previous = "head"
    fork = f"t{trunk - 1:03}"
    for side in ("a", "b"):
        parent = fork
        for i in range(5):
            rev = f"{side}{i:03}"
            revision(root, rev, parent, *table(f"{side}_{i}"))
            parent = rev
    run([sys.executable, "-m", "alembic", "merge", "-m", "join", "--rev-id", "m000", "heads"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-q", "-m", "history"], root)


def timed(argv: list[str], cwd: Path, repeat: int, before: object = None) -> float:
    times = []
    for _ in range(repeat):
        if callable(before):
            before()
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mergeguard-apply-bench-"))
    root = work / f"history-{args.revisions}"
    if root.exists():
        shutil.rmtree(root)
    build(root, args.revisions)
    database = root / "app.db"

    def fresh() -> None:
        database.unlink(missing_ok=True)

    plain = timed([sys.executable, "-m", "alembic", "upgrade", "heads"], root, args.repeat, fresh)
    applied = timed([sys.executable, "-m", "mergeguard", "apply"], root, args.repeat)
    print(f"revisions: {args.revisions} (two sibling branches of 5, one merge revision)")
    print(
        f"alembic upgrade heads (one plain upgrade, SQLite): {plain:.2f} s (median of "
        f"{args.repeat})"
    )
    print(f"mergeguard apply (heads alone, both orders, round trip): {applied:.2f} s")
    print(f"ratio: {applied / plain:.2f}x (DESIGN target: <= 3x)")


if __name__ == "__main__":
    main()
