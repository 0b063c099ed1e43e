"""Measure mergeguard against ``alembic heads`` on generated histories.

    python benchmarks/run.py [--sizes 1000,5000] [--repeat 5] [--workdir DIR] [--json OUT]
                             [--mergeguard CMD] [--monorepo 20x500|none] [--profile]

For each size, generates (or reuses) ``WORKDIR/history-SIZE`` with
``generate.py``, then times every scenario as a fresh subprocess: one untimed
warm-up, ``--repeat`` timed runs (median and min), one peak-memory probe.
Then the warm ``check main..feature`` of a monorepo (``WORKDIR/monorepo-ExN``).
Prints a table with the ratio to ``alembic heads`` on the same files and
issue 12's targets (ratios measured in the same run), the load average at the
start and the end, and writes the same rows with ``--json``.  A mergeguard
command that crashes or is missing makes its row "not available"; the run
goes on.  ``--profile`` prints where a warm and a no-cache ``check`` spend
their time instead (``budget.py``).  See benchmarks/README.md.
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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from generate import GENERATOR_VERSION, MANIFEST, git
from measure import MemoryProbe, Series, measure

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
MIB = 1024.0


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
    environ: tuple[tuple[str, str], ...] = ()  # set for this scenario's runs only


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
        "mergeguard check --staged [warm, PRE_COMMIT=1]",
        "mergeguard",
        ("check", "--staged"),
        "warm",
        (0, 1),
        0,
        staged=True,
        environ=(("PRE_COMMIT", "1"),),
    ),
    Scenario("python", "python -c pass", "python", ("-c", "pass")),
    Scenario("help", "mergeguard --help", "mergeguard", ("--help",)),
)
MONOREPO = Scenario(
    "monorepo-check-warm",
    "mergeguard check main..feature [warm] monorepo",
    "mergeguard",
    CHECK,
    "warm",
    (0, 1),
    1,
)
# Issue 12's targets, as ratios to what the same run measured.  The ratios to
# `alembic heads` are set for 5,000 revisions (start-up dominates smaller
# histories): they apply from RATIO_TARGET_SIZE up; the others at every size.
RATIO_TARGETS = {"check-warm": 0.11, "staged-warm": 0.065, "check-nocache": 0.55}
RATIO_TARGETS["heads-nocache"] = 0.55
RATIO_TARGET_SIZE = 5000
HELP_TARGET = 4.0  # x `python -c pass`, same interpreter and environment
PEAK_MIB_TARGET = 100.0  # every mergeguard row
MONOREPO_TARGET = 2.0  # x the warm check of RATIO_TARGET_SIZE revisions


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
    size_label: str = ""  # what the size column shows, when not the revision count
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
    checkout: Path
    repeat: int
    timeout: float
    probe: MemoryProbe

    def command(self, scenario: Scenario) -> list[str]:
        if scenario.tool == "mergeguard":
            return [*self.mergeguard, *scenario.args]
        if scenario.tool == "python":
            return [sys.executable, *scenario.args]
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
        # `python -c pass` runs in mergeguard's environment, so its ratio is start-up's
        tool = "mergeguard" if scenario.tool == "python" else scenario.tool
        env["PYTHONPYCACHEPREFIX"] = str(self.workdir / "pycache" / tool)
        if tool == "mergeguard" and self.default_mergeguard:
            env["PYTHONPATH"] = os.pathsep.join(
                [str(self.checkout), *filter(None, [os.environ.get("PYTHONPATH")])]
            )
        if scenario.cache == "off":
            env["MERGEGUARD_NO_CACHE"] = "1"
        env.update(scenario.environ)
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


STAGED_REVISION = "be0c57a9ed00"  # the staged migration's id: a name the generator never makes


@contextmanager
def staged_change(repo: Path, relative: str) -> Iterator[None]:
    """Stage one new migration on the main head (a column added, as a
    developer commits it), and remove it afterwards.  Not an edit of the head:
    that revision is on origin/main, published, and editing it is MG107."""
    head = repo / relative
    text = head.read_text()
    revision = re.search(r"^revision(?:: str)? = '(\w+)'", text, re.MULTILINE)
    assert revision is not None, f"no revision id in {relative}"
    found = re.search(r"op\.(?:add_column|create_table)\('(\w+)'", text)
    table = found.group(1) if found else "bench_table"
    path = head.with_name(f"{STAGED_REVISION}_bench_note.py")
    path.write_text(
        f'"""bench note\n\nRevision ID: {STAGED_REVISION}\nRevises: {revision.group(1)}\n'
        'Create Date: 2026-01-01 00:00:00\n\n"""\n'
        "from alembic import op\nimport sqlalchemy as sa\n\n\n"
        f"revision = '{STAGED_REVISION}'\ndown_revision = '{revision.group(1)}'\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n    op.add_column('{table}', sa.Column('bench_note', sa.Text()))\n\n\n"
        f"def downgrade():\n    op.drop_column('{table}', 'bench_note')\n"
    )
    staged = str(path.relative_to(repo))
    git(repo, "add", staged)
    try:
        yield
    finally:
        git(repo, "rm", "-q", "--cached", "--", staged)
        path.unlink()


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
    if series.error:
        return series, ""
    if scenario.key == MONOREPO.key:
        return series, missing_merge_points(bench.manifest, series.stdout)
    if scenario.heads_of is None:
        return series, ""
    found = set(re.findall(r"\b[0-9a-f]{12}\b", series.stdout))
    missing = [h for h in bench.expected_heads(scenario.heads_of) if h not in found]
    return series, f"output lacks expected heads {' '.join(missing)}" if missing else ""


def missing_merge_points(manifest: dict[str, object], stdout: str) -> str:
    """A note unless every diverging environment of the monorepo has its MG102 line."""
    names = manifest.get("diverging")
    assert isinstance(names, list)
    lines = [line for line in stdout.splitlines() if "MG102" in line]
    lacking = [n for n in names if not any(f"services/{n}" in line for line in lines)]
    return f"no MG102 for {' '.join(lacking)}" if lacking else ""


def to_row(
    scenario: Scenario,
    size: int,
    result: tuple[Series, str],
    baseline: float | None,
    earlier: dict[tuple[str, int], Row],
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
    judge(row, scenario, earlier)
    if problem:
        row.verdict = "FAIL"  # a wrong answer fails whatever the timings
    return row


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def relative(value: float | None, reference: Row | None) -> float | None:
    if value is None or reference is None or not reference.median_s:
        return None
    return value / reference.median_s


def judge(row: Row, scenario: Scenario, earlier: dict[tuple[str, int], Row]) -> None:
    """Fill ``target`` and ``verdict`` from issue 12's targets; ``earlier`` holds the
    rows measured before this one, by (key, size), for the targets relative to them."""
    checks: list[tuple[str, bool | None]] = []
    limit = RATIO_TARGETS.get(row.key)
    if limit is not None and row.size >= RATIO_TARGET_SIZE:
        checks.append((f"<= {limit:g}x alembic", at_most(row.ratio, limit)))
    if row.key == "help":
        factor = relative(row.median_s, earlier.get(("python", row.size)))
        shown = "" if factor is None else f" ({factor:.1f}x)"
        checks.append((f"<= {HELP_TARGET:g}x python -c pass{shown}", at_most(factor, HELP_TARGET)))
    if row.key == MONOREPO.key:
        factor = relative(row.median_s, earlier.get(("check-warm", RATIO_TARGET_SIZE)))
        shown = "" if factor is None else f" ({factor:.2f}x)"
        checks.append(
            (
                f"<= {MONOREPO_TARGET:g}x warm check @{RATIO_TARGET_SIZE}{shown}",
                at_most(factor, MONOREPO_TARGET),
            )
        )
    if scenario.tool == "mergeguard":
        checks.append((f"<= {PEAK_MIB_TARGET:g} MiB", at_most(row.peak_mib, PEAK_MIB_TARGET)))
    row.target = ", ".join(text for text, _ in checks)
    results = [ok for _, ok in checks]
    if row.median_s is None:
        row.verdict = "n.a."
    elif False in results:
        row.verdict = "FAIL"
    elif checks:
        row.verdict = "pass" if None not in results else "n.a."


def history_params(size: int, args: argparse.Namespace, environments: int = 1) -> dict[str, object]:
    params: dict[str, object] = {
        "revisions": size,
        "style": args.style,
        "seed": args.seed,
        "feature_revisions": args.feature_revisions,
    }
    if environments > 1:
        params["environments"] = environments
    return params


def read_manifest(repo: Path) -> dict[str, object] | None:
    path = repo / ".git" / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def ensure_history(
    workdir: Path, size: int, args: argparse.Namespace, environments: int = 1
) -> Path:
    """``workdir/history-SIZE`` (or ``monorepo-ExSIZE``) at a clean ``main``:
    reused when its manifest matches."""
    name = f"history-{size}" if environments == 1 else f"monorepo-{environments}x{size}"
    repo = workdir / name
    params = history_params(size, args, environments)
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
                "--environments",
                str(environments),
            ],
            check=True,
        )
    git(repo, "checkout", "-q", "-f", "main")
    git(repo, "reset", "-q", "--hard", "main")
    remove_pycache(repo)
    return repo


def measure_size(
    bench: Bench,
    size: int,
    earlier: dict[tuple[str, int], Row],
    after_check_warm: Callable[[], None] = lambda: None,
) -> list[Row]:
    """Every scenario at ``size``; ``after_check_warm`` runs right after the warm check
    (the monorepo's, so that both meet the same load)."""
    rows: list[Row] = []
    baseline: float | None = None
    for scenario in SCENARIOS:
        print(f"  {size:>6} {scenario.label}", file=sys.stderr, flush=True)
        row = to_row(scenario, size, run_scenario(bench, scenario), baseline, earlier)
        if scenario.key == "alembic":
            baseline = row.median_s
            row.ratio = 1.0 if baseline else None
        earlier[(row.key, row.size)] = row
        rows.append(row)
        if scenario.key == "check-warm":
            after_check_warm()
    return rows


def measure_monorepo(
    bench: Bench, environments: int, size: int, earlier: dict[tuple[str, int], Row]
) -> Row:
    """The warm ``check main..feature`` of the monorepo, judged against the single
    history's warm check of the same run."""
    shape = f"{environments}x{size}"
    scenario = replace(MONOREPO, label=f"{MONOREPO.label} {shape}")
    print(f"  {shape:>6} {scenario.label}", file=sys.stderr, flush=True)
    row = to_row(scenario, environments * size, run_scenario(bench, scenario), None, earlier)
    row.size_label = shape
    return row


def parse_shape(text: str) -> tuple[int, int] | None:
    """``20x500`` -> (20, 500); ``none`` -> None."""
    if text.lower() in ("none", "off", ""):
        return None
    environments, _, size = text.lower().partition("x")
    if not (environments.isdigit() and size.isdigit() and int(environments) > 1):
        raise argparse.ArgumentTypeError("expected ENVIRONMENTSxREVISIONS, e.g. 20x500, or none")
    return int(environments), int(size)


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
        "target (issue 12)",
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
                row.size_label or str(row.size),
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


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def footer(args: argparse.Namespace, probe: MemoryProbe, load: dict[str, list[float]]) -> str:
    host = machine()
    return (
        f"median of {args.repeat} runs after one warm-up; peak memory: {probe.method}; "
        f"{host['cpus']} CPUs ({host['platform']}); load average (1/5/15 min) "
        f"{' '.join(map(str, load['start']))} at the start, "
        f"{' '.join(map(str, load['end']))} at the end. Figures belong to this machine."
    )


def write_json(
    path: Path,
    rows: list[Row],
    args: argparse.Namespace,
    probe: MemoryProbe,
    mergeguard: list[str],
    load: dict[str, list[float]],
) -> None:
    document = {
        "schema": "mergeguard-bench/2",
        "machine": machine(),
        "load_average": load,
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
    parser.add_argument(
        "--checkout",
        type=Path,
        default=PROJECT,
        help="the mergeguard source tree put first on PYTHONPATH for the default command "
        "(default: this checkout)",
    )
    parser.add_argument(
        "--monorepo",
        type=parse_shape,
        default=(20, 500),
        metavar="ExN",
        help="environments x revisions of the monorepo row (default 20x500; none: no row)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print where a warm and a no-cache `check main..feature` spend their time "
        "(at the largest --sizes), instead of the table",
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

    def bench_for(repo: Path) -> Bench:
        return Bench(
            repo,
            read_manifest(repo) or {},
            workdir,
            mergeguard,
            args.mergeguard is None,
            args.checkout.resolve(),
            args.repeat,
            args.timeout,
            probe,
        )

    if args.profile:
        from budget import profile_check

        size = max(args.sizes)
        bench = bench_for(ensure_history(workdir, size, args))
        return profile_check(bench, CHECK, SCENARIOS, size)
    load = {"start": load_average()}
    rows: list[Row] = []
    earlier: dict[tuple[str, int], Row] = {}
    monorepo: list[Row] = []

    def measure_monorepo_now() -> None:
        if args.monorepo is not None and not monorepo:
            environments, size = args.monorepo
            bench = bench_for(ensure_history(workdir, size, args, environments))
            monorepo.append(measure_monorepo(bench, environments, size, earlier))

    if args.monorepo is not None:  # generated first: it is measured amid the others
        ensure_history(workdir, args.monorepo[1], args, args.monorepo[0])
    for size in args.sizes:
        bench = bench_for(ensure_history(workdir, size, args))
        after = measure_monorepo_now if size == RATIO_TARGET_SIZE else (lambda: None)
        rows += measure_size(bench, size, earlier, after)
    measure_monorepo_now()  # without a RATIO_TARGET_SIZE history: at the end
    rows += monorepo
    load["end"] = load_average()
    print(table(rows))
    print("\n" + footer(args, probe, load))
    if args.json:
        write_json(args.json, rows, args, probe, mergeguard, load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
