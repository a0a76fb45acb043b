"""Shared measuring helpers: closed-loop send loops, CPU readings, tables, machine info.

Every figure a suite reports is a ratio to a baseline measured in the same run, printed
beside the absolute numbers, because absolute timings vary between machines.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio

__all__ = [
    "RESULTS",
    "Sample",
    "machine_info",
    "median_sample",
    "ratio",
    "run_async",
    "run_threads",
    "table",
    "write_json",
]

RESULTS = Path(__file__).resolve().parent / "results"
_PACKAGES = ("rongpub", "httpx", "httpx-aiohttp", "aiohttp", "msgspec", "rc-server-sdk")


@dataclass(frozen=True)
class Sample:
    """One measured interval: `sends` completed in `seconds` of wall time, using
    `client_cpu` CPU seconds in the client process and `server_cpu` in the server's."""

    sends: int
    seconds: float
    client_cpu: float
    server_cpu: float | None

    @property
    def rate(self) -> float:
        """Sends per second."""
        return self.sends / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        """Client CPU microseconds per send."""
        return self.client_cpu / self.sends * 1e6 if self.sends else float("nan")

    @property
    def server_busy(self) -> float | None:
        """Fraction of one core the server used (near 1.0 would make it the bottleneck)."""
        return None if self.server_cpu is None else self.server_cpu / self.seconds

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate, "cpu_us": self.cpu_us}


Reading = Callable[[], float | None]


class _Window:
    """Counts sends and snapshots the clocks at the start and end of the measured interval."""

    def __init__(self, server_cpu: Reading) -> None:
        self.count = 0
        self.stop = False
        self._server_cpu = server_cpu
        self._start: tuple[int, float, float, float | None] = (0, 0.0, 0.0, None)

    def begin(self) -> None:
        self._start = (self.count, time.perf_counter(), time.process_time(), self._server_cpu())

    def end(self) -> Sample:
        count, wall, cpu, server = self._start
        server_now = self._server_cpu()
        return Sample(
            sends=self.count - count,
            seconds=time.perf_counter() - wall,
            client_cpu=time.process_time() - cpu,
            server_cpu=None if server is None or server_now is None else server_now - server,
        )


async def run_async(
    send: Callable[[], Awaitable[object]],
    concurrency: int,
    *,
    warmup: float,
    seconds: float,
    server_cpu: Reading,
) -> Sample:
    """`concurrency` tasks each awaiting `send()` back to back; measure after `warmup` s."""
    window = _Window(server_cpu)

    async def worker() -> None:
        while True:
            await send()
            window.count += 1

    async with anyio.create_task_group() as tasks:
        for _ in range(concurrency):
            tasks.start_soon(worker)
        await anyio.sleep(warmup)
        window.begin()
        await anyio.sleep(seconds)
        sample = window.end()
        # Sends still in flight are not counted, so cancel rather than wait for them.
        tasks.cancel_scope.cancel()
    return sample


def run_threads(
    send: Callable[[], object],
    concurrency: int,
    *,
    warmup: float,
    seconds: float,
    server_cpu: Reading,
) -> Sample:
    """`concurrency` threads each calling blocking `send()` back to back (a thread pool)."""
    window = _Window(server_cpu)
    lock = threading.Lock()
    go = threading.Event()

    def worker() -> None:
        go.wait()
        while not window.stop:
            send()
            with lock:
                window.count += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    # Start them all before any sends: a thread started amid busy ones waits for the GIL.
    for thread in threads:
        thread.start()
    go.set()
    time.sleep(warmup)
    window.begin()
    time.sleep(seconds)
    sample = window.end()
    window.stop = True
    for thread in threads:
        thread.join()
    return sample


def median_sample(samples: Sequence[Sample]) -> Sample:
    """The sample with the median rate (an odd count keeps it one real measurement)."""
    ordered = sorted(samples, key=lambda sample: sample.rate)
    return ordered[(len(ordered) - 1) // 2]


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, None when either is missing or the baseline is zero."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table; floats get 3 significant figures, None prints as '-'."""
    cells = [list(headers)] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def machine_info() -> dict[str, Any]:
    """Where the figures were measured: CPU, cores, OS, Python and library versions."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "packages": {name: _version(name) for name in _PACKAGES},
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_json(path: Path, data: object) -> None:
    """Write `data` as indented JSON (creating the results directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
