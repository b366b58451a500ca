"""`make bench`: run the benches and write bench/RESULTS.md - one table per area, stamped with the machine and
the commit. Each bench runs as its own process (`--json` gives its tables); a bench that fails leaves a
line saying so, not a stale figure.

Run: .venv/bin/python bench/results.py [--package] [--load] [--all] [--only AREA ...] [--out bench/RESULTS.md]
  default: asr, scenes, upscale, webhook, hostile input (the hardening suite's table); a few minutes
  --package   the package flow on a 54 s clip, LLM local and off-box (~10 min on 2 cores)
  --load      the stack under load: 50 inbox objects + a webhook storm (tens of minutes on 2 cores)
  --faults    the fault-injection suite against the stack (tests/test_faults.py, slow cases too; ~15 min)
  --only      re-run these areas; the others keep the tables of their last run (bench/RESULTS.json), each
              area stamped with the commit and time it was measured
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from report import Table, read_tables

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
AREAS = ["asr", "scenes", "upscale", "package", "webhook", "load", "faults", "hostile input"]


@dataclass(frozen=True, slots=True)
class Bench:
    area: str
    command: list[str]  # after `python`; `--json PATH` is appended
    optional: str | None = None  # the flag that turns it on


BENCHES = [
    Bench("asr", ["bench/asr.py", "--repeat", "1"]),
    Bench("scenes", ["bench/scenes.py"]),
    Bench("upscale", ["bench/upscale.py", "--workers", "2", "--seconds", "4"]),
    Bench("webhook", ["bench/webhook.py", "--seconds", "10", "--clients", "8", "--starts", "3"]),
    Bench("package", ["bench/package.py", "--flow", "--asr-model", "base"], optional="package"),
    Bench("package", ["bench/package.py", "--flow", "--asr-model", "base", "--llm-offbox", "5"], optional="package"),
    Bench("load", ["bench/stack_load.py"], optional="load"),
]


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    try:
        mem_kib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                           if line.startswith("MemTotal")))
        memory = f"{mem_kib / 1024**2:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "? GiB"
    return f"{os.cpu_count()} cores ({cpu}), {memory} memory, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return head + (" (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")


def run_bench(bench: Bench, tmp: Path, log) -> tuple[list[Table], str | None]:
    out = tmp / f"{bench.area}-{len(list(tmp.iterdir()))}.json"
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run([sys.executable, *bench.command, "--json", str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    log.write(f"$ python {' '.join(bench.command)}  ({time.perf_counter() - started:.0f} s, exit {result.returncode})\n"
              f"{result.stdout}\n{result.stderr[-5000:]}\n")
    log.flush()
    if result.returncode != 0 or not out.exists():
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        return [], f"`python {' '.join(bench.command)}` failed (exit {result.returncode}): {tail[0][:200]}"
    return read_tables(out), None


def hostile_table(tmp: Path, log) -> tuple[list[Table], str | None]:
    """The hardening suite writes its measured table when NEWSROOM_HOSTILE_REPORT is set."""
    report = tmp / "hostile.md"
    env = {**os.environ, "NEWSROOM_HOSTILE_REPORT": str(report)}
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/test_hostile_input.py", "-q", "-p",
                             "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True)
    log.write(f"$ pytest tests/test_hostile_input.py (exit {result.returncode})\n{result.stdout[-3000:]}\n")
    if not report.exists():
        return [], f"the hostile-input suite wrote no table (exit {result.returncode})"
    lines = [line for line in report.read_text().splitlines() if line.startswith("|")]
    columns = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return [Table("hostile input", "Hostile input: each case through the CLI or the inbox", columns, rows,
                  [f"pytest: {summary}"])], None


def faults_table(tmp: Path, log, saved_json: Path | None = None) -> tuple[list[Table], str | None]:
    """The fault-injection suite (tests/test_faults.py, slow cases included) writes one row per fault it injected
    when NEWSROOM_FAULTS_REPORT is set; `saved_json` takes the rows of an earlier run instead."""
    summary = ""
    if saved_json is None:
        report = tmp / "faults.json"
        env = {**os.environ, "NEWSROOM_FAULTS_REPORT": str(report)}
        result = subprocess.run([sys.executable, "-m", "pytest", "tests/test_faults.py", "-q", "-m", "slow or not slow",
                                 "-p", "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True)
        log.write(f"$ pytest tests/test_faults.py (exit {result.returncode})\n{result.stdout[-3000:]}\n")
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        if not report.exists():
            return [], f"the fault-injection suite wrote no table (exit {result.returncode})"
    else:
        report = saved_json
    rows = json.loads(report.read_text())
    columns = ["fault", "injected", "survived", "lost", "figures"]
    table_rows = [[r["fault"].replace("_", " "), r["injected"], "yes" if r["survived"] else "NO", r["lost"] or "?",
                   r["figures"]] for r in rows.values()]
    notes = [f"pytest: {summary}"] if summary else [f"from an earlier run of tests/test_faults.py ({report.name})"]
    notes.append("survived: the run finished (at once, after its retries, or when run again), `newsroom verify` "
                 "passed, and no task finished before the fault was computed again (task runs from the Prefect API)")
    return [Table("faults", "Faults injected into the stack", columns, table_rows, notes)], None


# What follows this line in RESULTS.md is written by hand (figures from benches make does not run) and kept.
KEPT = "<!-- written by hand below: kept by results.py -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", action="store_true", help="also the package flow bench (slow)")
    parser.add_argument("--load", action="store_true", help="also the stack load bench (slow)")
    parser.add_argument("--all", action="store_true", help="every bench")
    parser.add_argument("--only", nargs="*", default=None, help="only these areas (e.g. asr webhook)")
    parser.add_argument("--load-json", type=Path, default=None,
                        help="take the load tables from an earlier `bench/stack_load.py --json PATH` run")
    parser.add_argument("--faults", action="store_true", help="also the fault-injection suite (slow: the stack)")
    parser.add_argument("--faults-json", type=Path, default=None,
                        help="take the fault table from an earlier NEWSROOM_FAULTS_REPORT=PATH pytest run")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    enabled = {"package": args.package or args.all, "load": args.load or args.all}
    tables: dict[str, list[Table]] = {area: [] for area in AREAS}
    problems: dict[str, list[str]] = {area: [] for area in AREAS}
    skipped: dict[str, str] = {}
    load_average = "/".join(f"{x:.1f}" for x in os.getloadavg())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    saved_path = args.out.with_suffix(".json")
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    if args.load_json:
        tables["load"] += read_tables(args.load_json)
        tables["load"][-1].notes.append(f"from an earlier run of bench/stack_load.py ({args.load_json.name}), "
                                        "not re-run for this file")
        enabled["load"] = False
    with tempfile.TemporaryDirectory(prefix="newsroom-results-") as tmp_dir, open(BENCH / "results.log", "w") as log:
        tmp = Path(tmp_dir)
        for bench in BENCHES:
            if args.only is not None and bench.area not in args.only:
                continue
            if bench.optional and not enabled[bench.optional]:
                if tables[bench.area]:
                    continue
                skipped[bench.area] = f"not run this time (`python bench/results.py --{bench.optional}`)"
                continue
            print(f"running {' '.join(bench.command)} ...", file=sys.stderr)
            found, problem = run_bench(bench, tmp, log)
            tables[bench.area] += found
            if problem:
                problems[bench.area].append(problem)
        if args.faults_json or ((args.faults or args.all) and (args.only is None or "faults" in args.only)):
            print("running the fault-injection suite ...", file=sys.stderr)
            found, problem = faults_table(tmp, log, args.faults_json)
            tables["faults"] += found
            if problem:
                problems["faults"].append(problem)
        if args.only is None or "hostile input" in args.only:
            print("running the hostile-input suite ...", file=sys.stderr)
            found, problem = hostile_table(tmp, log)
            tables["hostile input"] += found
            if problem:
                problems["hostile input"].append(problem)
    measured_at = {}
    for area in AREAS:
        ran = (args.only is None or area in args.only) and (tables[area] or problems[area])
        if ran:
            measured_at[area] = f"{stamp}, commit {commit()}, load average {load_average}"
            saved[area] = {"tables": [asdict(t) for t in tables[area]], "problems": problems[area],
                           "measured": measured_at[area]}
        elif area in saved and not tables[area]:
            tables[area] = [Table(**t) for t in saved[area]["tables"]]
            problems[area] = saved[area]["problems"]
            measured_at[area] = saved[area]["measured"]
    saved_path.write_text(json.dumps(saved, indent=2, ensure_ascii=False))
    skipped.setdefault("faults", "not run this time (`python bench/results.py --faults`)")
    parts = [f"# Benchmark results\n\nWritten by `make bench` (`bench/results.py`) on {stamp}.\n\n"
             f"- machine: {machine()}\n- commit: {commit()}\n"
             f"- load average when it started (1/5/15 min): {load_average} (other work on the machine slows "
             "every figure)\n\n"
             "Machines here are noisy and shared: read the ratios more than the absolute seconds. Each area says when "
             "it was measured (`--only` re-runs some areas and keeps the rest, from bench/RESULTS.json); the full "
             "output of the last run is in bench/results.log.\n"]
    for area in AREAS:
        parts.append(f"\n## {area}\n")
        if area in measured_at:
            parts.append(f"\n_measured {measured_at[area]}_\n")
        for table in tables[area]:
            parts.append("\n" + table.markdown())
        for problem in problems[area]:
            parts.append(f"\n- {problem}\n")
        if not tables[area] and not problems[area]:
            parts.append(f"\n- {skipped.get(area, 'not run')}\n")
    if args.out.exists() and KEPT in (previous := args.out.read_text()):  # hand-written sections stay
        parts.append("\n" + previous[previous.index(KEPT):])
    args.out.write_text("".join(parts))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
