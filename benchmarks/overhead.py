"""Suite 2: per-send overhead with rate limits lifted, against a fast server on loopback.

Sends per second and client CPU microseconds per send at concurrency 1, 20 and 100 for
rongpub (on httpx's own pool and on the httpx-aiohttp transport), bare httpx and aiohttp
posting the same pre-built bytes, and the official rc-server-sdk from a thread pool.
Ratios are to bare httpx at the same concurrency, measured in the same run.

Clients run in child processes (`--child`), so their CPU is read apart from the server's:
the async clients one after another in one child, each with its own event loop and pool,
in an order rotated per repetition so that a burst of load from elsewhere on the machine
does not fall on one client only; the official SDK's threads in a child of their own. The server
is `_server.py`'s fixed-answer server; a check in every run shows how far rongpub's
emulator (a full h11 server) is from it, i.e. why it is not the target here.

CPU time moves with the machine's load, by as much as the gap it measures, so the suite also
counts the instructions per send of rongpub and bare httpx under callgrind (`_instructions.py`):
a block of sends per process, the clients alternated per round, the ratio of their medians.

    python benchmarks/overhead.py [--quick] [--json PATH]

`--otel` runs only the telemetry variant (issue #17): rongpub with opentelemetry-api absent,
with the API and no SDK, and with the SDK configured exporting to memory; ratios to the first.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from statistics import median
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _instructions import counted, mark, start, unavailable
from _measure import (
    RESULTS,
    Sample,
    median_sample,
    ratio,
    run_async,
    run_threads,
    table,
    write_json,
)
from _server import fast_server, process_cpu

__all__ = ["main", "measure"]

CONCURRENCY = (1, 20, 100)
BASELINE = "httpx (bare)"
OFFICIAL = "rc-server-sdk (threads)"
# Counted under callgrind, the pair the goal is about. Not at 100: run ~50x slower, 100
# concurrent sends outlast the 5 s timeouts; the per-send cost of rongpub's own code does
# not grow with concurrency anyway (the pool's does, and it is the same in both).
_COUNTED = (BASELINE, "rongpub")
_COUNTED_LEVELS = (1, 20)
_OTEL = ("rongpub, no opentelemetry", "rongpub", "rongpub, OTel SDK to memory")
_OTEL_LEVELS = (1, 20)
_CLIENTS = (
    "httpx (bare)",
    "rongpub",
    "httpx+aiohttp transport (bare)",
    "rongpub, aiohttp transport",
    "aiohttp (bare)",
    OFFICIAL,
)


def _child(args: argparse.Namespace) -> None:
    """Measure each named client at each concurrency; print {client: [samples]} as JSON."""
    from _clients import ASYNC_CLIENTS, official_sdk_send

    def server_cpu() -> float | None:
        return process_cpu(args.server_pid)

    timing = {"warmup": args.warmup, "seconds": args.seconds, "server_cpu": server_cpu}
    samples: dict[str, list[dict[str, Any]]] = {}
    for client in args.child:
        for concurrency in args.concurrency:
            if client == OFFICIAL:
                sample = run_threads(official_sdk_send(args.url), concurrency, **timing)
            else:

                async def one(client: str = client, concurrency: int = concurrency) -> Sample:
                    async with ASYNC_CLIENTS[client](args.url) as send:
                        return await run_async(send, concurrency, **timing)

                sample = anyio.run(one)
            samples.setdefault(client, []).append(sample.to_json())
    print(json.dumps(samples))


def _count_child(args: argparse.Namespace) -> None:
    """One counted block: open the client, warm it up, turn callgrind's instrumentation on,
    then `--sends` sends between two marks; print how many."""
    from _clients import ASYNC_CLIENTS

    async def block(concurrency: int) -> None:
        async with ASYNC_CLIENTS[args.count_child](args.url) as send:
            # Uncounted: connections opened and every code path run once.
            await _burst(send, concurrency, max(args.warm, 2 * concurrency))
            start()
            mark()
            await _burst(send, concurrency, args.sends)
            mark()

    anyio.run(block, args.concurrency[0])
    print(json.dumps({"sends": args.sends}))


def _rotated(items: Sequence[str], turn: int) -> list[str]:
    """The items turned by one per round (AB, BA, AB, ... for two)."""
    shift = turn % len(items)
    return [*items[shift:], *items[:shift]]


async def _burst(send: Callable[[], Awaitable[object]], concurrency: int, total: int) -> None:
    """`total` sends by `concurrency` tasks, each sending back to back."""

    async def worker() -> None:
        for _ in range(total // concurrency):
            await send()

    async with anyio.create_task_group() as tasks:
        for _ in range(concurrency):
            tasks.start_soon(worker)


def _spawn(
    clients: Sequence[str],
    url: str,
    pid: int,
    timing: tuple[float, float],
    concurrency: Sequence[int] = CONCURRENCY,
) -> dict[str, list[Sample]]:
    """Run `clients` one after another in a fresh child process; their samples."""
    command = [sys.executable, __file__, "--child", *clients, "--url", url]
    command += ["--server-pid", str(pid), "--warmup", str(timing[0])]
    command += ["--seconds", str(timing[1]), "--concurrency", *map(str, concurrency)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    fields = ("sends", "seconds", "client_cpu", "server_cpu")
    return {
        client: [Sample(**{k: row[k] for k in fields}) for row in rows]
        for client, rows in json.loads(output).items()
    }


def measure(*, quick: bool) -> dict[str, Any]:
    """Run the suite; returns its JSON section (also printed as a table)."""
    repeats, timing = (1, (0.15, 0.3)) if quick else (3, (0.5, 3.0))
    runs: dict[str, dict[int, list[Sample]]] = defaultdict(lambda: defaultdict(list))
    asynchronous = [client for client in _CLIENTS if client != OFFICIAL]
    with fast_server() as server:
        for repeat in range(repeats):
            # The async clients share a child (each with its own event loop and pool), in an
            # order rotated per repetition; the SDK's threads get a child of their own.
            order = asynchronous[repeat:] + asynchronous[:repeat]
            for group in (order, [OFFICIAL]):
                for client, samples in _spawn(group, server.url, server.pid, timing).items():
                    for concurrency, sample in zip(CONCURRENCY, samples, strict=True):
                        runs[client][concurrency].append(sample)
        instructions = _instructions(server.url, quick)
    rows = _rows({c: {n: median_sample(s) for n, s in by.items()} for c, by in runs.items()})
    check = None if quick else _server_check(timing)
    _print(rows, check)
    _print_instructions(instructions)
    return {
        "baseline": BASELINE,
        "repeats": repeats,
        "warmup_seconds": timing[0],
        "seconds": timing[1],
        "rows": rows,
        "server_check": check,
        "instructions": instructions,
    }


def measure_otel(*, quick: bool) -> dict[str, Any]:
    """The telemetry variant: CPU per send and instructions per send of `_OTEL`, as ratios
    to rongpub without opentelemetry, measured in the same run (clients rotated per round)."""
    repeats, timing = (1, (0.15, 0.3)) if quick else (5, (0.5, 3.0))
    runs: dict[str, dict[int, list[Sample]]] = defaultdict(lambda: defaultdict(list))
    with fast_server() as server:
        for repeat in range(repeats):
            order = _rotated(_OTEL, repeat)
            found = _spawn(order, server.url, server.pid, timing, _OTEL_LEVELS)
            for client, samples in found.items():
                for concurrency, sample in zip(_OTEL_LEVELS, samples, strict=True):
                    runs[client][concurrency].append(sample)
        # Counted at one task (the others' pool work only adds noise to the same per-send
        # cost), after 300 uncounted sends: the SDK's one-off costs (first data points,
        # lazy imports) are not per send; 300 sends a block, so that a collection of the
        # garbage collector's oldest generation weighs little on any block.
        instructions = _instructions(
            server.url, quick, _OTEL, _OTEL[0], levels=(1,), warm=300, sends=300
        )
    base = _OTEL[0]
    rows = [
        {
            "client": client,
            "concurrency": level,
            **median_sample(runs[client][level]).to_json(),
            "cpu_ratio": ratio(
                median_sample(runs[client][level]).cpu_us, median_sample(runs[base][level]).cpu_us
            ),
        }
        for level in _OTEL_LEVELS
        for client in _OTEL
    ]
    headers = ("client", "conc", "sends/s", "CPU us/send", "x no otel")
    cells = [(r["client"], r["concurrency"], r["rate"], r["cpu_us"], r["cpu_ratio"]) for r in rows]
    print(table(f"OpenTelemetry overhead (median of {repeats})", headers, cells))
    _print_instructions(instructions, against="no otel")
    return {"baseline": base, "repeats": repeats, "rows": rows, "instructions": instructions}


def _instructions(
    url: str,
    quick: bool,
    clients: Sequence[str] = _COUNTED,
    baseline: str = BASELINE,
    *,
    levels: Sequence[int] = _COUNTED_LEVELS,
    warm: int = 0,
    sends: int = 100,
) -> dict[str, Any]:
    """Instructions per send of rongpub and bare httpx, counted by callgrind (see
    `_instructions.py`): the measure of the per-send gap that machine load does not move.

    Each block is a process of its own (started alike, warmed up alike), so no block inherits
    another's pool, timers or garbage; rounds alternate the clients' order (AB, BA, ...).
    """
    reason = unavailable()
    if reason is not None:
        return {"status": "unavailable", "error": reason}
    rounds, sends = (1, 30) if quick else (7, sends)
    levels = levels[:1] if quick else levels
    per_send: dict[tuple[str, int], list[float]] = defaultdict(list)
    for level in levels:
        for turn in range(rounds):
            for client in _rotated(clients, turn):
                command = [sys.executable, __file__, "--count-child", client, "--url", url]
                command += ["--sends", str(sends), "--concurrency", str(level)]
                command += ["--warm", str(warm)]
                try:
                    totals, _ = counted(command, timeout=600)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    return {"status": "failed", "error": str(exc)}
                if len(totals) != 2:
                    return {"status": "failed", "error": f"{len(totals)} callgrind dumps, not 2"}
                # totals[0]: from start() to the first mark; totals[1]: the block.
                per_send[client, level].append(totals[1] / sends)
    rows = [_count_row(client, level, per_send, baseline) for level in levels for client in clients]
    return {"status": "ok", "rounds": rounds, "sends_per_block": sends, "rows": rows}


def _count_row(
    client: str,
    level: int,
    per_send: dict[tuple[str, int], list[float]],
    baseline: str = BASELINE,
) -> dict[str, Any]:
    """Median instructions per send, its ratio to the baseline's median, and the range of the
    ratios of the blocks run in the same round (how much one block pair can be off)."""
    mine, base = per_send[client, level], per_send[baseline, level]
    ratios = [m / b for m, b in zip(mine, base, strict=True)]
    return {
        "client": client,
        "concurrency": level,
        "instructions_per_send": median(mine),
        "ratio": median(mine) / median(base),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "per_round": mine,
    }


def _rows(medians: dict[str, dict[int, Sample]]) -> list[dict[str, Any]]:
    rows = []
    for client in _CLIENTS:
        for concurrency in CONCURRENCY:
            sample, base = medians[client][concurrency], medians[BASELINE][concurrency]
            rows.append(
                {
                    "client": client,
                    "concurrency": concurrency,
                    **sample.to_json(),
                    "server_busy": sample.server_busy,
                    "rate_ratio": ratio(sample.rate, base.rate),
                    "cpu_ratio": ratio(sample.cpu_us, base.cpu_us),
                }
            )
    return rows


def _server_check(timing: tuple[float, float]) -> dict[str, Any]:
    """aiohttp at concurrency 20 against rongpub's emulator and against the fast server."""
    from _clients import APP_KEY, APP_SECRET

    from rongpub.emulator import start_in_subprocess

    check: dict[str, Any] = {"client": "aiohttp (bare)", "concurrency": 20}
    unlimited = 10**9
    with start_in_subprocess(
        app_key=APP_KEY, app_secret=APP_SECRET, group_limit=unlimited, chatroom_limit=unlimited
    ) as child:
        check["emulator"] = _check_one(child.url, child.process.pid, timing)
    with fast_server() as server:
        check["fast_server"] = _check_one(server.url, server.pid, timing)
    return check


def _check_one(url: str, pid: int, timing: tuple[float, float]) -> dict[str, Any]:
    sample = _spawn(["aiohttp (bare)"], url, pid, timing, (20,))["aiohttp (bare)"][0]
    return {"rate": sample.rate, "server_busy": sample.server_busy}


def _print(rows: list[dict[str, Any]], check: dict[str, Any] | None) -> None:
    headers = ("client", "conc", "sends/s", "x httpx", "CPU us/send", "x httpx", "server busy")
    print(
        table(
            "Overhead, limits lifted (ratios to bare httpx at the same concurrency)",
            headers,
            [
                (
                    r["client"],
                    r["concurrency"],
                    r["rate"],
                    r["rate_ratio"],
                    r["cpu_us"],
                    r["cpu_ratio"],
                    r["server_busy"],
                )
                for r in rows
            ],
        )
    )
    if check is None:
        print("server check (emulator vs fast server): full run only\n")
        return
    emu, fast = check["emulator"], check["fast_server"]
    print(
        f"server check, aiohttp at 20: emulator {emu['rate']:,.0f}/s (busy "
        f"{emu['server_busy'] or 0:.2f}), fast server {fast['rate']:,.0f}/s "
        f"(busy {fast['server_busy'] or 0:.2f})\n"
    )


def _print_instructions(counts: dict[str, Any], against: str = "httpx") -> None:
    if counts["status"] != "ok":
        print(f"instructions per send: not counted ({counts['status']}: {counts['error']})\n")
        return
    title = (
        f"Instructions per send (callgrind; median of {counts['rounds']} blocks of "
        f"{counts['sends_per_block']} sends per client; min/max: a round's pair of blocks)"
    )
    headers = ("client", "conc", "instructions/send", f"x {against}", "min", "max")
    rows = [
        (r["client"], r["concurrency"], r["instructions_per_send"], r["ratio"],
         r["ratio_min"], r["ratio_max"])
        for r in counts["rows"]
    ]  # fmt: skip
    print(table(title, headers, rows) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one short repetition")
    parser.add_argument("--json", type=Path, help="default results/overhead[_otel].json")
    parser.add_argument("--otel", action="store_true", help="only the OpenTelemetry variant")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--count-child", help=argparse.SUPPRESS)
    parser.add_argument("--sends", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warm", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return
    if args.count_child:
        _count_child(args)
        return
    if args.otel:
        write_json(args.json or RESULTS / "overhead_otel.json", measure_otel(quick=args.quick))
        return
    write_json(args.json or RESULTS / "overhead.json", measure(quick=args.quick))


if __name__ == "__main__":
    main()
