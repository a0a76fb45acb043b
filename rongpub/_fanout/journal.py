"""The fan-out journal: one JSON line per target outcome, appended and flushed as it happens.

```
{"rongpub_fanout":1,"api":"group","message":"<sha256 of the encoded message>","started":...}
{"target":"g1","status":"sent","message_uid":"...","request_id":"..."}
{"sending":["g3","g4","g5"],"request_id":"..."}
{"target":"g2","status":"failed","code":1002,"error":"RejectedError: ...","request_id":"..."}
```

Each run appends a header line; a journal is only resumed by the same message to the same
API (the header's fingerprint covers every encoded field but the targets). A target's last
line is its state: sent targets are skipped, failed ones sent again, unknown ones skipped
unless `resend_unknown`. Before a request goes out a "sending" line names its targets;
a request whose outcomes never follow (the process was killed) leaves them unknown, so a
resume never sends twice what a dead run may have delivered. Lines are flushed to the OS
as they are written (and fsynced on close; a power cut may lose the last ones). A torn
last line left by a killed process is cut off, and its run closed like any dead run. One
run at a time writes a journal (`JournalLock`); a second one raises `JournalInUseError`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import msgspec

from .._exceptions import InvalidRequestError
from .._request import Template
from .lock import JournalLock
from .outcomes import TargetOutcome
from .seen import DigestSet

__all__ = ["Journal", "Settled", "fingerprint"]

_VERSION = 1


class _Header(msgspec.Struct, frozen=True, kw_only=True):
    rongpub_fanout: int
    api: str
    message: str
    started: float


class _Sending(msgspec.Struct, frozen=True, kw_only=True):
    sending: list[str]
    request_id: str


class _Line(msgspec.Struct, frozen=True, kw_only=True):
    rongpub_fanout: int | None = None
    api: str | None = None
    message: str | None = None
    target: str | None = None
    status: str | None = None
    request_id: str | None = None
    sending: list[str] | None = None


_decode_line = msgspec.json.Decoder(_Line).decode
_encoder = msgspec.json.Encoder()


def fingerprint(template: Template) -> str:
    """SHA-256 over the API path and every encoded field of the message but the targets."""
    digest = hashlib.sha256(template.path.encode())
    for part in (template.head, template.tail):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Settled:
    """What earlier runs settled: targets sent, and targets left unknown (to skip)."""

    def __init__(self) -> None:
        self.sent = DigestSet()
        self.unknown = DigestSet()

    @property
    def empty(self) -> bool:
        """Whether no target is to be skipped."""
        return not self.sent and not self.unknown

    def apply(self, target: str, status: str, resend_unknown: bool) -> None:
        """Take one journal line into account (the last line of a target wins)."""
        if status == "sent":
            self.sent.add(target)
            if self.unknown:
                self.unknown.discard(target)
            return
        if self.sent:
            self.sent.discard(target)
        if status == "unknown" and not resend_unknown:
            self.unknown.add(target)
        elif self.unknown:
            self.unknown.discard(target)


class Journal:
    """An open journal file; `settled` holds what earlier runs settled."""

    def __init__(self, path: str | os.PathLike[str], api: str, message: str) -> None:
        self.path = Path(path)
        self.settled = Settled()
        self._api, self._message = api, message
        self._file: IO[bytes] | None = None
        self._unanswered: dict[str, set[str]] = {}  # request id -> targets, while loading
        self._lock = JournalLock(self.path)

    def open(self, *, resend_unknown: bool) -> None:
        """Read what earlier runs settled, then open for appending and write this run's header.

        Raises `JournalInUseError` when another run holds the journal, and
        `InvalidRequestError` when the file is not a fan-out journal or belongs to another
        message or API.
        """
        self._lock.acquire()  # first: what is read must not change under this run
        end, unfinished = self._load(resend_unknown) if self.path.exists() else (0, False)
        self._file = self.path.open("ab")
        if self._file.tell() != end:  # a torn last line a killed writer left: cut it off
            self._file.truncate(end)
        header = _Header(
            rongpub_fanout=_VERSION, api=self._api, message=self._message, started=time.time()
        )
        self.write_raw(b"\n" * unfinished + _encoder.encode(header) + b"\n")

    def _load(self, resend_unknown: bool) -> tuple[int, bool]:
        """Read the journal; returns where its whole lines end (a torn last line is not
        counted) and whether the last whole line lacks its newline."""
        end, raw = 0, b"\n"
        with self.path.open("rb") as file:
            lines = iter(file)
            for number, raw in enumerate(lines, start=1):
                try:
                    line = _decode_line(raw)
                except msgspec.DecodeError:
                    if raw.endswith(b"\n") or next(lines, None) is not None:
                        self._refuse(f"line {number} is not valid JSON")
                    # A torn last line (its writer was killed mid-write): cut off in
                    # `open`; the run it belonged to still ends as any dead run does.
                    self._close_run(resend_unknown)
                    return end, False
                self._take(line, number, resend_unknown)
                end += len(raw)
        self._close_run(resend_unknown)
        return end, not raw.endswith(b"\n")

    def _take(self, line: _Line, number: int, resend_unknown: bool) -> None:
        if number == 1 and line.rongpub_fanout is None:
            self._refuse("it does not start with a rongpub fan-out header")
        if line.target is not None and line.status is not None:
            self.settled.apply(line.target, line.status, resend_unknown)
            if line.request_id is not None:
                self._answered(line.request_id, line.target)
        elif line.sending is not None and line.request_id is not None:
            self._unanswered[line.request_id] = set(line.sending)
        elif line.rongpub_fanout is None:
            self._refuse(f"line {number} is neither a header nor an outcome")
        elif line.rongpub_fanout != _VERSION:
            self._refuse(f"version {line.rongpub_fanout} is not supported")
        elif line.api != self._api or line.message != self._message:
            self._refuse(
                f"it was written for another message ({line.api} {line.message}); "
                "use a new journal for a new message"
            )
        else:  # a new run: what the previous one left unanswered stays unknown
            self._close_run(resend_unknown)

    def _answered(self, request_id: str, target: str) -> None:
        # Per target: a write of a request's outcomes cut short leaves the rest unknown.
        waiting = self._unanswered.get(request_id)
        if waiting is not None:
            waiting.discard(target)
            if not waiting:
                del self._unanswered[request_id]

    def _close_run(self, resend_unknown: bool) -> None:
        for targets in self._unanswered.values():
            for target in targets:
                self.settled.apply(target, "unknown", resend_unknown)
        self._unanswered.clear()

    def _refuse(self, reason: str) -> None:
        raise InvalidRequestError("journal", f"{self.path}: {reason}")

    def write(self, outcomes: Iterable[TargetOutcome]) -> None:
        """Append one line per outcome and flush them to the OS."""
        self.write_raw(b"".join(_encoder.encode(outcome) + b"\n" for outcome in outcomes))

    def sending(self, request_id: str, targets: list[str]) -> None:
        """Note that a request to `targets` is about to go out (before it does)."""
        self.write_raw(_encoder.encode(_Sending(sending=targets, request_id=request_id)) + b"\n")

    def write_raw(self, data: bytes) -> None:
        """Append `data` (whole lines) and flush it to the OS."""
        if self._file is None:
            raise RuntimeError("the journal is not open")
        self._file.write(data)
        self._file.flush()

    def close(self) -> None:
        """Flush to disk (fsync), close and let the next run in; safe to call twice."""
        file, self._file = self._file, None
        try:
            if file is not None:
                with file:
                    file.flush()
                    os.fsync(file.fileno())
        finally:
            self._lock.release()
