"""Measure mergeguard against ``alembic heads`` on generated histories.

    python benchmarks/run.py [--sizes 1000,5000] [--repeat 5] [--workdir DIR] [--json OUT]
                             [--mergeguard CMD]

For each size, generates (or reuses) ``WORKDIR/history-SIZE`` with
``generate.py``, then times every scenario as a fresh subprocess: one untimed
warm-up, ``--repeat`` timed runs (median and min), one peak-memory probe.
Prints a table with the ratio to ``alembic heads`` on the same files and the
DESIGN.md target, and writes the same rows with ``--json``.  A mergeguard
command that crashes or is missing makes its row "not available"; the run
goes on.  See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

from generate import GENERATOR_VERSION, MANIFEST, git
from measure import MemoryProbe, Series, measure

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
MIB = 1024.0
END_MARK = "    # ### end Alembic commands ###"


@dataclass(frozen=True)
class Scenario:
    """One row of the table: a command, how the parse cache is set up, what exit is fine."""

    key: str
    label: str
    tool: str  # "alembic", "alembic-pyc" or "mergeguard"
    args: tuple[str, ...]
    cache: str = "none"  # "cold", "warm", "off" (MERGEGUARD_NO_CACHE=1) or "none"
    ok_codes: tuple[int, ...] = (0,)
    expect: int = 0
    staged: bool = False
    heads_of: str | None = None  # "main" or "main~1": stdout must name these heads


CHECK = ("check", "main..feature")
SCENARIOS = (
    Scenario("alembic", "alembic heads (baseline)", "alembic", ("heads",), heads_of="main"),
    Scenario(
        "alembic-pyc", "alembic heads, bytecode cached", "alembic-pyc", ("heads",), heads_of="main"
    ),
    Scenario(
        "heads-cold", "mergeguard heads [cold]", "mergeguard", ("heads",), "cold", heads_of="main"
    ),
    Scenario(
        "heads-warm", "mergeguard heads [warm]", "mergeguard", ("heads",), "warm", heads_of="main"
    ),
    Scenario(
        "heads-nocache",
        "mergeguard heads [no cache]",
        "mergeguard",
        ("heads",),
        "off",
        heads_of="main",
    ),
    Scenario(
        "heads-ref-warm",
        "mergeguard heads --ref main~1 [warm]",
        "mergeguard",
        ("heads", "--ref", "main~1"),
        "warm",
        heads_of="main~1",
    ),
    Scenario(
        "check-cold",
        "mergeguard check main..feature [cold]",
        "mergeguard",
        CHECK,
        "cold",
        (0, 1),
        1,
    ),
    Scenario(
        "check-warm",
        "mergeguard check main..feature [warm]",
        "mergeguard",
        CHECK,
        "warm",
        (0, 1),
        1,
    ),
    Scenario(
        "check-nocache",
        "mergeguard check main..feature [no cache]",
        "mergeguard",
        CHECK,
        "off",
        (0, 1),
        1,
    ),
    Scenario(
        "staged-warm",
        "mergeguard check --staged [warm]",
        "mergeguard",
        ("check", "--staged"),
        "warm",
        (0, 1),
        0,
        staged=True,
    ),
    Scenario("help", "mergeguard --help", "mergeguard", ("--help",)),
)
# DESIGN.md "Performance" targets: (scenario key, size or None for any size) -> limit
SECONDS_TARGETS = {("check-warm", 5000): 0.25, ("staged-warm", 5000): 0.15, ("help", None): 0.08}
RATIO_TARGETS = {
    ("heads-nocache", 5000): 0.55,
    ("check-nocache", 5000): 0.55,
    ("heads-nocache", 1000): 0.65,
    ("check-nocache", 1000): 0.65,
}
PEAK_MIB_TARGET = (5000, 100.0)


@dataclass
class Row:
    """One measured scenario at one size, as printed and as written to JSON."""

    key: str
    scenario: str
    size: int
    median_s: float | None
    min_s: float | None
    ratio: float | None
    peak_mib: float | None
    exit_code: int | None
    target: str = ""
    verdict: str = "-"
    note: str = ""
    runs_s: list[float] = field(default_factory=list)


@dataclass
class Bench:
    """Everything a size's measurements need: the repository and how to run tools."""

    repo: Path
    manifest: dict[str, object]
    workdir: Path
    mergeguard: list[str]
    default_mergeguard: bool
    repeat: int
    timeout: float
    probe: MemoryProbe

    def command(self, scenario: Scenario) -> list[str]:
        if scenario.tool == "mergeguard":
            return [*self.mergeguard, *scenario.args]
        return [sys.executable, "-m", "alembic", *scenario.args]

    def env(self, scenario: Scenario) -> dict[str, str]:
        """The baseline writes no bytecode; the others keep theirs under the workdir."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "MERGEGUARD_NO_CACHE")
        }
        env["NO_COLOR"] = "1"
        if scenario.tool == "alembic":
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            return env
        env["PYTHONPYCACHEPREFIX"] = str(self.workdir / "pycache" / scenario.tool)
        if scenario.tool == "mergeguard" and self.default_mergeguard:
            env["PYTHONPATH"] = os.pathsep.join(
                [str(PROJECT), *filter(None, [os.environ.get("PYTHONPATH")])]
            )
        if scenario.cache == "off":
            env["MERGEGUARD_NO_CACHE"] = "1"
        return env

    def expected_heads(self, ref: str) -> list[str]:
        """The heads the generator verified with Alembic, at ``main`` or ``main~1``."""
        heads, labels = self.manifest["heads"], self.manifest["labels"]
        assert isinstance(heads, dict) and isinstance(labels, dict)
        if ref == "main":
            return list(heads["main"])
        return sorted([str(self.manifest["fork_point"]), *labels.values()])

    def cache_dir(self) -> Path:
        common = git(self.repo, "rev-parse", "--git-common-dir")
        return (self.repo / common).resolve() / "mergeguard"

    def prepare(self, scenario: Scenario) -> Callable[[], None]:
        """What runs before each run: drop the parse cache, or migrations' bytecode."""
        if scenario.cache == "cold":
            cache = self.cache_dir()
            return lambda: shutil.rmtree(cache, ignore_errors=True)
        if scenario.tool == "alembic":
            return lambda: remove_pycache(self.repo / "migrations")
        return lambda: None


def remove_pycache(root: Path) -> None:
    for directory in sorted(root.rglob("__pycache__")):
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def staged_change(repo: Path, relative: str) -> Iterator[None]:
    """Stage one edited migration (a column added), and restore it afterwards."""
    path = repo / relative
    original = path.read_text()
    up_end, rest = original.split(END_MARK, 1)
    found = re.search(r"op\.(?:add_column|create_table)\('(\w+)'", up_end)
    table = found.group(1) if found else "bench_table"
    added = f"    op.add_column('{table}', sa.Column('bench_note', sa.Text(), nullable=True))\n"
    dropped = f"    op.drop_column('{table}', 'bench_note')\n"
    down_end, tail = rest.split(END_MARK, 1)
    path.write_text(
        up_end
        + added
        + END_MARK
        + down_end.replace("###\n", "###\n" + dropped, 1)
        + END_MARK
        + tail
    )
    git(repo, "add", relative)
    try:
        yield
    finally:
        git(repo, "reset", "-q", "--", relative)
        path.write_text(original)


def run_scenario(bench: Bench, scenario: Scenario) -> tuple[Series, str]:
    """The measured series, and a note when the output names the wrong heads."""
    relative = str(bench.manifest["main_head_file"])
    context = staged_change(bench.repo, relative) if scenario.staged else nullcontext()
    with context:
        series = measure(
            bench.command(scenario),
            bench.repo,
            bench.env(scenario),
            repeat=bench.repeat,
            prepare=bench.prepare(scenario),
            ok_codes=scenario.ok_codes,
            probe=bench.probe,
            timeout=bench.timeout,
        )
    if series.error or scenario.heads_of is None:
        return series, ""
    found = set(re.findall(r"\b[0-9a-f]{12}\b", series.stdout))
    missing = [h for h in bench.expected_heads(scenario.heads_of) if h not in found]
    return series, f"output lacks expected heads {' '.join(missing)}" if missing else ""


def to_row(
    scenario: Scenario, size: int, result: tuple[Series, str], baseline: float | None
) -> Row:
    series, problem = result
    median = statistics.median(series.times) if series.times else None
    row = Row(
        scenario.key,
        scenario.label,
        size,
        median,
        min(series.times) if series.times else None,
        median / baseline if median is not None and baseline else None,
        series.peak_kib / MIB if series.peak_kib is not None else None,
        series.code,
        runs_s=[round(t, 4) for t in series.times],
    )
    if series.error:
        row.note = f"not available ({series.error})"
    elif series.code != scenario.expect:
        row.note = f"exit {series.code}, expected {scenario.expect}"
    row.note = "; ".join(filter(None, [row.note, problem]))
    judge(row, scenario)
    if problem:
        row.verdict = "FAIL"  # a wrong answer fails whatever the timings
    return row


def judge(row: Row, scenario: Scenario) -> None:
    """Fill ``target`` and ``verdict`` from DESIGN.md's table."""
    checks: list[tuple[str, bool | None]] = []
    for (key, size), limit in SECONDS_TARGETS.items():
        if key == row.key and size in (None, row.size):
            checks.append(
                (f"<= {limit:g} s", None if row.median_s is None else row.median_s <= limit)
            )
    limit = RATIO_TARGETS.get((row.key, row.size))
    if limit is not None:
        checks.append((f"<= {limit:g}x alembic", None if row.ratio is None else row.ratio <= limit))
    if scenario.tool == "mergeguard" and row.size == PEAK_MIB_TARGET[0]:
        checks.append(
            (
                f"<= {PEAK_MIB_TARGET[1]:g} MiB",
                None if row.peak_mib is None else row.peak_mib <= PEAK_MIB_TARGET[1],
            )
        )
    row.target = ", ".join(text for text, _ in checks)
    results = [ok for _, ok in checks]
    if row.median_s is None:
        row.verdict = "n.a."
    elif False in results:
        row.verdict = "FAIL"
    elif checks:
        row.verdict = "pass" if None not in results else "n.a."


def history_params(size: int, args: argparse.Namespace) -> dict[str, object]:
    return {
        "revisions": size,
        "style": args.style,
        "seed": args.seed,
        "feature_revisions": args.feature_revisions,
    }


def read_manifest(repo: Path) -> dict[str, object] | None:
    path = repo / ".git" / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def ensure_history(workdir: Path, size: int, args: argparse.Namespace) -> Path:
    """``workdir/history-SIZE`` at a clean ``main``: reused when its manifest matches."""
    repo = workdir / f"history-{size}"
    params = history_params(size, args)
    manifest = read_manifest(repo)
    fresh = (
        manifest is not None
        and manifest.get("params") == params
        and manifest.get("generator_version") == GENERATOR_VERSION
    )
    if not fresh:
        if manifest is not None:
            shutil.rmtree(repo)  # an older generated history, not someone's files
        print(f"generating {repo} ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--revisions",
                str(size),
                "--out",
                str(repo),
                "--style",
                args.style,
                "--seed",
                str(args.seed),
                "--feature-revisions",
                str(args.feature_revisions),
            ],
            check=True,
        )
    git(repo, "checkout", "-q", "-f", "main")
    git(repo, "reset", "-q", "--hard", "main")
    remove_pycache(repo / "migrations")
    return repo


def measure_size(bench: Bench, size: int) -> list[Row]:
    rows: list[Row] = []
    baseline: float | None = None
    for scenario in SCENARIOS:
        print(f"  {size:>6} {scenario.label}", file=sys.stderr, flush=True)
        row = to_row(scenario, size, run_scenario(bench, scenario), baseline)
        if scenario.key == "alembic":
            baseline = row.median_s
            row.ratio = 1.0 if baseline else None
        rows.append(row)
    return rows


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[Row]) -> str:
    """The plain-text table, one line per row, notes numbered underneath."""
    head = (
        "scenario",
        "size",
        "median s",
        "min s",
        "x alembic",
        "peak MiB",
        "exit",
        "DESIGN target",
        "verdict",
    )
    lines: list[tuple[str, ...]] = [head]
    notes: list[str] = []
    for row in rows:
        verdict = row.verdict
        if row.note:
            notes.append(f"[{len(notes) + 1}] {row.scenario} @ {row.size}: {row.note}")
            verdict += f" [{len(notes)}]"
        lines.append(
            (
                row.scenario,
                str(row.size),
                fmt(row.median_s, ".3f"),
                fmt(row.min_s, ".3f"),
                fmt(row.ratio, ".2f"),
                fmt(row.peak_mib, ".1f"),
                fmt(row.exit_code, "d"),
                row.target or "-",
                verdict,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [
        "  ".join(
            cell.ljust(w) if i in (0, 7, 8) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*text, *([""] + notes if notes else [])])


def machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "executable": sys.executable,
    }


def write_json(
    path: Path, rows: list[Row], args: argparse.Namespace, probe: MemoryProbe, mergeguard: list[str]
) -> None:
    document = {
        "schema": "mergeguard-bench/1",
        "machine": machine(),
        "repeat": args.repeat,
        "memory_probe": probe.method,
        "mergeguard_command": mergeguard,
        "baseline": "python -m alembic heads, PYTHONDONTWRITEBYTECODE=1, no migration bytecode",
        "rows": [asdict(row) for row in rows],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1000,5000",
        type=lambda text: [int(part) for part in text.split(",") if part],
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--mergeguard",
        default=None,
        help="command that runs mergeguard (default: sys.executable -m mergeguard)",
    )
    parser.add_argument("--style", choices=("plain", "annotated", "mixed"), default="mixed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--feature-revisions", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    mergeguard = (
        shlex.split(args.mergeguard) if args.mergeguard else [sys.executable, "-m", "mergeguard"]
    )
    probe = MemoryProbe()
    rows: list[Row] = []
    for size in args.sizes:
        repo = ensure_history(workdir, size, args)
        bench = Bench(
            repo,
            read_manifest(repo) or {},
            workdir,
            mergeguard,
            args.mergeguard is None,
            args.repeat,
            args.timeout,
            probe,
        )
        rows += measure_size(bench, size)
    print(table(rows))
    print(
        f"\nmedian of {args.repeat} runs after one warm-up; peak memory: {probe.method}; "
        f"{machine()['cpus']} CPUs ({machine()['platform']}). Figures belong to this machine."
    )
    if args.json:
        write_json(args.json, rows, args, probe, mergeguard)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
