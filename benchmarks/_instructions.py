"""Instructions executed in marked intervals of a process, counted by valgrind's callgrind.

CPU time per send moves with whatever else the machine is doing (other processes, the
sibling hyperthread, frequency): on a shared 2-core box run-to-run noise was as large as
the gap being measured. The number of instructions a client executes for N sends does not
depend on load, so two clients' counts measured minutes apart still compare.

`counted(command)` runs a command under callgrind with instrumentation off, so its imports
run at valgrind's plain speed (a quarter of the time). The measured process calls `start()`
once it is ready, which turns instrumentation on (`callgrind_control`), then `mark()` (which
calls `getppid()`, used by nothing else on the send path) at the start and end of each
interval: callgrind, started with `--dump-before=getppid`, writes the instructions executed
since the previous dump to a numbered file at each call. `counted` returns those counts in
order: index 0 runs from `start()` to the first mark, index k is the interval ending at mark
k+1. Only the user-space instructions of the process are counted (not the kernel's, not the
server's); instrumented, the process runs about 50x slower, so keep the intervals short.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["counted", "mark", "start", "unavailable"]

_UNDER_CALLGRIND = "RONGPUB_UNDER_CALLGRIND"

_TOTAL = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


def start() -> None:
    """Turn instrumentation on, when run under `counted` (otherwise do nothing)."""
    if os.environ.get(_UNDER_CALLGRIND):
        command = ["callgrind_control", "--instr=on", str(os.getpid())]
        subprocess.run(command, check=True, capture_output=True)


def mark() -> None:
    """End the current interval (and start the next) when run under `counted`."""
    os.getppid()


def unavailable() -> str | None:
    """Why instruction counts cannot be taken here, or None when they can."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return "valgrind is not installed (apt-get install valgrind)"
    return None


def counted(command: Sequence[str], timeout: float) -> tuple[list[int], str]:
    """Run `command` under callgrind; (instructions per interval between marks, stdout)."""
    with tempfile.TemporaryDirectory(prefix="rongpub-callgrind-") as tmp:
        out = Path(tmp) / "cg.out"
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
        valgrind += ["--dump-before=getppid", "--dump-instr=no", "--collect-jumps=no"]
        valgrind += [f"--callgrind-out-file={out}"]
        process = subprocess.run(
            [*valgrind, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, _UNDER_CALLGRIND: "1"},
        )
        if process.returncode != 0:
            lines = process.stderr.strip().splitlines()
            tail = [line for line in lines if not line.startswith("==")][-5:]
            raise RuntimeError(f"callgrind run failed (exit {process.returncode}): {tail}")
        dumps = sorted(Path(tmp).glob("cg.out.*"), key=lambda path: int(path.suffix[1:]))
        return [_total(path) for path in dumps], process.stdout


def _total(path: Path) -> int:
    found = _TOTAL.search(path.read_bytes())
    if found is None:
        raise RuntimeError(f"no instruction total in {path.name}")
    return int(found.group(1))
