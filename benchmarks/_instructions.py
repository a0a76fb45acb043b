"""Instructions executed in marked intervals of a process, counted by valgrind's callgrind.

CPU time per send moves with whatever else the machine is doing (other processes, the
sibling hyperthread, frequency): on a shared 2-core box run-to-run noise was as large as
the gap being measured. The number of instructions a client executes for N sends does not
depend on load, so two clients' counts measured minutes apart still compare.

The measured process calls `mark()` (which calls `getppid()`, used by nothing else on the
send path) at the start and end of each interval; callgrind, started with
`--dump-before=getppid`, writes the instructions executed since the previous dump to a
numbered file at each call. `counted(command)` runs a command so and returns those counts in
order: index 0 is start-up until the first mark, index k the interval ending at mark k.
Only the user-space instructions of the process are counted (not the kernel's, not the
server's); callgrind runs the process about 50x slower, so keep the intervals short.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["counted", "mark", "unavailable"]

_TOTAL = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


def mark() -> None:
    """End the current interval (and start the next) when run under `counted`."""
    os.getppid()


def unavailable() -> str | None:
    """Why instruction counts cannot be taken here, or None when they can."""
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (apt-get install valgrind)"
    return None


def counted(command: Sequence[str], timeout: float) -> tuple[list[int], str]:
    """Run `command` under callgrind; (instructions per interval between marks, stdout)."""
    with tempfile.TemporaryDirectory(prefix="rongpub-callgrind-") as tmp:
        out = Path(tmp) / "cg.out"
        valgrind = ["valgrind", "--tool=callgrind", "--dump-before=getppid"]
        valgrind += ["--dump-instr=no", "--collect-jumps=no", f"--callgrind-out-file={out}"]
        process = subprocess.run(
            [*valgrind, *command], capture_output=True, text=True, timeout=timeout, check=False
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
