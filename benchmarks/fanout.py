"""Suite 4: fan-out. Memory and engine cost with limits lifted; accounting at the real quotas.

(a) Limits lifted, against the fixed-answer server in its own process: 1,000,000 chatroom
    targets from a generator (packs of 10), journal on, through `fanout_chatroom` in a child
    process on the httpx-aiohttp transport (and a tenth of that on httpx's own pool).
    Reports peak RSS (goal: < 150 MB) and RSS as the run goes (flat), targets/s, and CPU per
    target: the fan-out over HTTP; a bare loop sending the same packs through the same client
    (the HTTP stack's share, no engine); and the engine's own (intake, dedupe, packing,
    dispatch, outcomes, journal), fanning out to a `send` that answers at once.
(b) Real quotas (group 20/s, chatroom 100/s, both at once, as `rongpub demo`) against the
    emulator in its own process with 5% 5xx answers and 1% connection resets (half before,
    half after the message is recorded). Reports targets lost (no outcome) and duplicated
    (received twice): both must be 0; outcomes consistent with the server's records; and the
    quota used: targets that reached the server (5xx and resets included, 429s not) over the
    most the quota allows from the first arrival to the last (goal >= 98%).
(c) The journal's cost with limits lifted: the engine fanning group targets out to a `send`
    that answers at once, with no journal, the JSONL file and a `RedisJournal` (own
    redis-server on loopback): targets/s (medians of 3 interleaved rounds), Redis calls per
    request and Redis bytes per target (see `_fanout_journal`).

    python benchmarks/fanout.py [--quick] [--targets N] [--seconds S] [--margin S]
                                [--journal-targets N] [--skip-lifted] [--only-journal]
                                [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fanout_journal import measure_journals
from _fanout_lifted import child_main
from _fanout_quota import measure_quotas
from _measure import RESULTS, machine_info, table, write_json
from _server import fast_server, process_cpu

from rongpub._constants import DEFAULT_WINDOW_MARGIN

__all__ = ["main"]


def measure_lifted(targets: int, baseline: int, transport: str) -> dict[str, Any]:
    """Part (a) for one HTTP transport, in a child process."""
    with fast_server() as server, tempfile.TemporaryDirectory() as folder:
        server_cpu = process_cpu(server.pid)
        command = [sys.executable, __file__, "--child", server.url, transport]
        command += [str(targets), str(baseline), str(Path(folder) / "journal.jsonl")]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"child failed: {done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        after = process_cpu(server.pid)
    if server_cpu is not None and after is not None:
        result["server_busy"] = (after - server_cpu) / result["wall_seconds"]
    return result


def _print_lifted(rows: list[dict[str, Any]]) -> None:
    headers = [
        *("transport", "targets", "targets/s", "peak RSS MB", "fan-out CPU us/target"),
        *("bare loop CPU us/target", "engine alone CPU us/target", "journal MB"),
    ]
    cells = [
        [
            row["transport"],
            row["targets"],
            row["targets_per_second"],
            row["peak_rss_mb"],
            row["fanout_cpu_us_per_target"],
            row["baseline_cpu_us_per_target"],
            row["engine_cpu_us_per_target"],
            row["journal_mb"],
        ]
        for row in rows
    ]
    print(table("(a) limits lifted: chatroom fan-out from a generator", headers, cells))
    for row in rows:
        curve = ", ".join(f"{taken:,}: {rss:.0f}" for taken, rss in row["rss_mb_by_targets"])
        print(f"  RSS MB by targets taken ({row['transport']}): {curve}")
    print()


def _print_quotas(result: dict[str, Any]) -> None:
    headers = [
        *("api", "targets", "sent", "failed", "unknown", "lost", "duplicated"),
        *("inconsistent", "429s", "quota used", "worst 1 s arrived"),
    ]
    cells = [
        [
            api,
            row["targets"],
            row["sent"],
            row["failed"],
            row["unknown"],
            row["lost"],
            row["duplicated"],
            row["inconsistent"],
            row["rate_limited"],
            row["quota_used"],
            row["worst_window_arrived"],
        ]
        for api, row in result["apis"].items()
    ]
    title = f"(b) real quotas, both APIs at once for ~{result['seconds']:g} s, 5% 5xx + 1% resets"
    print(table(title, headers, cells) + "\n")


def _print_journals(result: dict[str, Any]) -> None:
    rates = result["targets_per_second"]
    headers = [
        *("targets", "none targets/s", "file targets/s", "redis targets/s", "redis / file"),
        *("redis calls / request", "redis bytes / target"),
    ]
    row = [
        result["targets"],
        rates["none"],
        rates["file"],
        rates["redis"],
        result["redis_vs_file"],
        result["redis_calls_per_request"],
        result["redis_bytes_per_target"],
    ]
    print(table("(c) journal cost, limits lifted, engine with an instant send", headers, [row]))
    print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small counts (< 1 minute)")
    parser.add_argument("--targets", type=int, help="part (a) targets (default 1,000,000)")
    parser.add_argument("--seconds", type=float, help="part (b) seconds (default 60)")
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_WINDOW_MARGIN,
        help=f"part (b): the client's window margin, seconds ({DEFAULT_WINDOW_MARGIN})",
    )
    parser.add_argument("--skip-lifted", action="store_true", help="parts (b) and (c) only")
    parser.add_argument("--only-journal", action="store_true", help="part (c) only")
    parser.add_argument("--journal-targets", type=int, help="part (c) targets (default 100,000)")
    parser.add_argument("--json", type=Path, default=RESULTS / "fanout.json")
    args = parser.parse_args(argv)
    targets = args.targets or (20_000 if args.quick else 1_000_000)
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    baseline = min(targets, 20_000 if args.quick else 200_000)
    # The million on the fastest transport; httpx's own pool on a tenth, for comparison.
    journal_targets = args.journal_targets or (10_000 if args.quick else 100_000)
    lifted: list[dict[str, Any]] = []
    quotas: dict[str, Any] = {}
    if not args.skip_lifted and not args.only_journal:
        lifted.append(measure_lifted(targets, baseline, "aiohttp"))
        if not args.quick:
            lifted.append(measure_lifted(targets // 10, baseline // 10, "httpx"))
        _print_lifted(lifted)
    if not args.only_journal:
        quotas = measure_quotas(seconds, args.margin)
        _print_quotas(quotas)
    journals = measure_journals(journal_targets)
    _print_journals(journals)
    result = {"quick": args.quick, "machine": machine_info(), "lifted": lifted}
    write_json(args.json, {**result, "quotas": quotas, "journals": journals})


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child_main(sys.argv[2:])
    else:
        main()
