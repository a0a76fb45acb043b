"""One writer per fan-out journal: an OS lock on a file next to it, held for the run.

Two runs appending to one journal would each send every target the other has not finished
(an overlapping cron run, a job redelivered while the first copy is alive). The lock is an
`flock` on `<journal>.lock`: the kernel releases it when the process ends however it ends,
so a resume after SIGKILL needs no cleanup (the file a killed run leaves is reused). The
file holds the holder's pid, host and start time, for the error the second run raises. A
run removes it when done, while still holding the lock; a run that locked the file just
removed sees it is no longer the one at the path and starts over.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import msgspec

from .._exceptions import JournalInUseError

__all__ = ["JournalLock"]


class _Holder(msgspec.Struct, frozen=True, kw_only=True):
    pid: int
    host: str
    started: float  # Unix time (s)


class JournalLock:
    """The exclusive lock on the journal at `journal`; `acquire` once, `release` when done."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.path = journal.with_name(journal.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock now, or raise `JournalInUseError` naming the process that holds it."""
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not _try_lock(fd):
                    raise _in_use(self.journal, fd)
                if self._current(fd):
                    holder = _Holder(
                        pid=os.getpid(), host=socket.gethostname(), started=time.time()
                    )
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, msgspec.json.encode(holder) + b"\n", 0)
                    self._fd = fd
            finally:
                if self._fd is None:
                    os.close(fd)

    def _current(self, fd: int) -> bool:
        """Whether `fd` is still the file at the path (the last holder did not remove it)."""
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            return False

    def release(self) -> None:
        """Remove the file and let the next run in (closing it drops the lock); safe to call
        twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                os.close(fd)


def _in_use(journal: Path, fd: int) -> JournalInUseError:
    try:
        holder: _Holder | None = msgspec.json.decode(os.pread(fd, 4096, 0), type=_Holder)
    except msgspec.DecodeError:  # the holder has locked but not yet written itself down
        holder = None
    if holder is None:
        return JournalInUseError(os.fspath(journal))
    return JournalInUseError(
        os.fspath(journal), pid=holder.pid, host=holder.host, started=holder.started
    )


if sys.platform == "win32":  # pragma: no cover (POSIX in CI)
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
