"""Seeded fuzzing of the migration reader: mutate real-looking migrations and
count crashes, hangs and internal errors.

    python benchmarks/fuzz_reader.py                 # 3,000 mutants, seed 1
    python benchmarks/fuzz_reader.py --runs 500 --seed 7

Each mutant goes through what a run does with a file from a pull request:
``read_module`` (fast and exact), ``read_script`` and ``read_operations``.
They run in a worker process, so a segfault counts as a crash of one mutant
instead of ending the fuzzing; a mutant the worker does not finish within
``--timeout`` seconds is a hang.  Any exception out of the reader is an
internal error (the reader answers MG001/MG002, it never raises).  Exit 0
when all three counts are 0.
"""

from __future__ import annotations

import argparse
import random
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

SEEDS = [
    '''"""add users

Revision ID: 3f2a1b9c8d7e
Revises: 1a2b3c4d5e6f
Create Date: 2024-01-01 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f2a1b9c8d7e'
down_revision = '1a2b3c4d5e6f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_users_email'), 'users', ['email'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_users_email'), table_name='users')
    op.drop_table('users')
''',
    '''"""merge heads

Revision ID: 9d8c7b6a5f4e
Revises: ('aa11', 'bb22')
Create Date: 2024-02-02 00:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "9d8c7b6a5f4e"
down_revision: Union[str, Sequence[str], None] = ("aa11", "bb22")  # mergeguard: ignore[MG104]
branch_labels: Union[str, Sequence[str], None] = ("feature",)
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("total", sa.Numeric(10, 2), server_default="0"))
        batch.alter_column("status", existing_type=sa.String(20), nullable=False)
    op.execute("UPDATE orders SET total = 0 WHERE total IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("total")
''',
]

# Fragments that stress the reader; a mutation splices one in somewhere.
FRAGMENTS = [
    "(" * 300,
    "[" * 120 + "]" * 120,
    "f(" * 500,
    "-" * 3000,
    " + 'x'" * 1500,
    "# -*- coding: rot13 -*-\n",
    "# coding: zlib\n",
    "# coding: punycode\n",
    "X = (X, X)\n" * 30,
    "down_revision = X\n",
    "\\\n",
    '"""',
    "'",
    "\0",
    "\xff\xfe",
    "# mergeguard: ignore[" * 200,
    "Revises: a" + " " * 5000 + "b\n",
    "\n    ",
    "if True:\n",
    "lambda: " * 400,
    "not " * 2000,
    "a.b" * 2000,
]


def mutate(source: bytes, rng: random.Random) -> bytes:
    """One to four random edits: splice a fragment, delete, duplicate,
    flip a byte, or repeat a line."""
    data = bytearray(source)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) + 1)
        choice = rng.random()
        if choice < 0.35:
            data[at:at] = rng.choice(FRAGMENTS).encode("utf-8", "surrogateescape")
        elif choice < 0.5 and data:
            del data[at : at + rng.randint(1, 40)]
        elif choice < 0.65:
            data[at:at] = data[max(0, at - 200) : at] * rng.randint(1, 20)
        elif choice < 0.8 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        else:
            lines = bytes(data).split(b"\n")
            pick = rng.randrange(len(lines))
            lines[pick:pick] = [lines[pick]] * rng.randint(2, 400)
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def worker(directory: Path, start: int) -> None:
    """Read mutants from ``start`` on; one ``begin``/``ok``/``error`` line each."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout
    from mergeguard.parse.header import read_script
    from mergeguard.parse.operations import read_operations
    from mergeguard.parse.reading import read_module

    path = PurePosixPath("migrations/versions/fuzzed.py")
    files = sorted(directory.glob("*.py"), key=lambda p: int(p.stem))
    for file in files[start:]:
        print(f"begin {file.stem}", flush=True)
        data = file.read_bytes()
        try:
            fast = read_module(data)
            exact = read_module(data, exact=True)
            read_script(fast, path)
            read_operations(data)
            agree = "same" if _same_facts(fast, exact) and _short_cut_exact(data) else "differ"
        except Exception as exc:  # noqa: BLE001 - every escape is what we count
            print(f"error {file.stem} {type(exc).__name__}: {str(exc)[:200]}", flush=True)
        else:
            print(f"ok {file.stem} {agree}", flush=True)


def _short_cut_exact(data: bytes) -> bool:
    """The ast reader with ``header_split``'s short cut reads exactly what the
    whole-text parse reads (the same facts, or the same error)."""
    from mergeguard.parse.header_ast import read_ast
    from mergeguard.parse.source import UnreadableSource, decode

    def outcome(short_cut: bool) -> object:
        try:
            return read_ast(decode(data), short_cut=short_cut)
        except UnreadableSource as exc:
            return (exc.message, exc.span)

    return outcome(True) == outcome(False)


def _same_facts(fast: object, exact: object) -> bool:
    """Equal facts; the two parsers word (and place) a syntax error differently."""
    from dataclasses import replace

    from mergeguard.parse.values import ModuleFacts

    assert isinstance(fast, ModuleFacts) and isinstance(exact, ModuleFacts)
    if (fast.error is None) != (exact.error is None):
        return False
    return replace(fast, error=None, error_span=None) == replace(exact, error=None, error_span=None)


def fuzz(runs: int, seed: int, timeout: float) -> dict[str, int]:
    rng = random.Random(seed)
    counts = {"runs": runs, "crashes": 0, "hangs": 0, "internal errors": 0, "disagreements": 0}
    with tempfile.TemporaryDirectory(prefix="mergeguard-fuzz-") as tmp:
        directory = Path(tmp)
        for index in range(runs):
            source = rng.choice(SEEDS).encode()
            (directory / f"{index}.py").write_bytes(mutate(source, rng))
        done = 0
        while done < runs:
            done = _run_worker(directory, done, timeout, counts)
    return counts


def _run_worker(directory: Path, start: int, timeout: float, counts: dict[str, int]) -> int:
    """Run one worker from mutant ``start``; the index to restart from."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", str(directory), "--start", str(start)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    current, position = None, start
    while True:
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        if not ready:
            process.kill()
            process.wait()
            counts["hangs"] += 1
            print(f"hang on mutant {current}", file=sys.stderr)
            return int(current or position) + 1
        line = process.stdout.readline()
        if not line:
            break
        kind, number, *rest = line.split()
        if kind == "begin":
            current = number
        else:
            position = int(number) + 1
            if kind == "error":
                counts["internal errors"] += 1
                print(f"internal error on mutant {number}: {' '.join(rest)}", file=sys.stderr)
            elif rest == ["differ"]:
                counts["disagreements"] += 1
    code = process.wait()
    if code != 0:
        counts["crashes"] += 1
        print(f"crash (exit {code}) on mutant {current}", file=sys.stderr)
        return int(current or position) + 1
    return sys.maxsize


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per mutant")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.start)
        return 0
    began = time.monotonic()
    counts = fuzz(args.runs, args.seed, args.timeout)
    print(
        f"{counts['runs']} mutants (seed {args.seed}) in {time.monotonic() - began:.0f} s: "
        f"{counts['crashes']} crashes, {counts['hangs']} hangs, "
        f"{counts['internal errors']} internal errors "
        f"({counts['disagreements']} where the fast and exact readers read different facts)"
    )
    return 0 if counts["crashes"] == counts["hangs"] == counts["internal errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
