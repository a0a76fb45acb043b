"""Run every benchmark suite and merge their figures into `results/latest.json`.

    python benchmarks/run.py [--quick] [--only NAME ...] [--skip NAME ...]   (nox -s bench)

Each suite is a script run in its own process (its table goes to the terminal) that writes
`results/<name>.json`; a suite whose script is not there, fails or times out is recorded as
such, never filled in. `--quick` runs suites 1-4 briefly (under 2 minutes on a 2-core machine;
the Redis suite needs full runs or `--only`); the README's figures come from a full run.

A run of every suite writes a new `latest.json`. A partial run (`--only` or `--skip`) merges
into the one there: its suites replace theirs, the others are kept, and the run is listed
under "updates". Every suite records the command and time that measured it ("measured").
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import RESULTS, machine_info, write_json

__all__ = ["SUITES", "Suite", "main", "merge"]

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Suite:
    """A suite: its script, what it measures, seconds allowed (quick, full), and whether
    `--quick` runs it unless named with `--only`."""

    name: str
    title: str
    timeout: tuple[float, float]
    in_quick: bool = True

    @property
    def script(self) -> Path:
        return HERE / f"{self.name}.py"

    @property
    def output(self) -> Path:
        return RESULTS / f"{self.name}.json"


SUITES = (
    Suite("quota_fidelity", "1. quota fidelity: rongpub vs httpx + aiolimiter", (60, 900)),
    Suite("official_sdk", "1. quota fidelity: the official rc-server-sdk", (40, 300)),
    Suite("overhead", "2. overhead with limits lifted", (90, 1500)),
    Suite("request_building", "3. request building", (30, 300)),
    Suite("fanout", "4. fan-out memory and throughput", (60, 1800)),
    # Eight processes and a redis-server: a minute even when quick, so full runs only.
    Suite("shared_quota", "shared quota across processes (Redis)", (90, 900), in_quick=False),
    # Nine scenarios of 20 s (6 s quick), one with two processes and a redis-server.
    Suite("lanes", "lanes: interactive quota wait beside a fan-out", (150, 600), in_quick=False),
)


def _run(suite: Suite, quick: bool) -> dict[str, Any]:
    """Run one suite's script; its JSON, or why there is none."""
    entry: dict[str, Any] = {"title": suite.title, "script": f"benchmarks/{suite.script.name}"}
    if not suite.script.exists():
        return {**entry, "status": "missing", "error": f"{entry['script']} does not exist yet"}
    command = [sys.executable, str(suite.script), *(["--quick"] if quick else [])]
    print(f"== {suite.title}: {shlex.join(command[1:])}", flush=True)
    started = time.time()
    timeout = suite.timeout[0 if quick else 1]
    try:
        process = subprocess.run(command, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**entry, "status": "failed", "error": f"timed out after {timeout:g} s"}
    entry["seconds"] = round(time.time() - started, 1)
    if process.returncode != 0:
        sys.stderr.write(process.stderr)
        tail = process.stderr.strip().splitlines()[-3:]
        return {**entry, "status": "failed", "error": f"exit {process.returncode}: {tail}"}
    if not suite.output.exists() or suite.output.stat().st_mtime < started:
        return {**entry, "status": "failed", "error": f"did not write {suite.output.name}"}
    return {**entry, "status": "ok", "result": json.loads(suite.output.read_text())}


def _skipped(suite: Suite) -> dict[str, Any]:
    reason = f"full runs only (or --quick --only {suite.name})"
    return {"title": suite.title, "script": f"benchmarks/{suite.script.name}",
            "status": "skipped", "error": reason}  # fmt: skip


def merge(path: Path, header: dict[str, Any], suites: dict[str, Any]) -> dict[str, Any]:
    """The report at `path` with `suites` put in place of its entries of the same name.

    Its header (the run that wrote the whole file) and its other suites are kept, and this
    run is appended to its "updates"; without a readable report there, a new one.
    """
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("suites"), dict):
        return {**header, "suites": suites}
    combined = {**report["suites"], **suites}
    order = [suite.name for suite in SUITES if suite.name in combined]
    order += [name for name in combined if name not in order]
    report["suites"] = {name: combined[name] for name in order}
    report.setdefault("updates", []).append({**header, "suites": list(suites)})
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [suite.name for suite in SUITES]
    parser.add_argument("--quick", action="store_true", help="every suite briefly (< 2 min)")
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME")
    parser.add_argument("--skip", nargs="+", choices=names, default=[], metavar="NAME")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    started = time.time()
    measured = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])]),
        "quick": args.quick,
    }
    suites: dict[str, dict[str, Any]] = {}
    for suite in SUITES:
        if (args.only is not None and suite.name not in args.only) or suite.name in args.skip:
            continue
        named = args.only is not None
        run = named or suite.in_quick or not args.quick
        entry = _run(suite, args.quick) if run else _skipped(suite)
        suites[suite.name] = {**entry, "measured": measured}
    header = {**measured, "seconds": round(time.time() - started, 1), "machine": machine_info()}
    partial = args.only is not None or bool(args.skip)
    report = merge(args.json, header, suites) if partial else {**header, "suites": suites}
    write_json(args.json, report)
    for name, entry in suites.items():
        print(f"{name:18} {entry['status']:8} {entry.get('error', '')}")
    print(f"wrote {args.json} in {header['seconds']} s")
    # A suite not written yet is reported, not fatal; one that fails is.
    return 1 if any(entry["status"] == "failed" for entry in suites.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
