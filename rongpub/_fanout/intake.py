"""Fan-out's reader: takes targets from any iterable, lazily, and hands packs to the senders.

Ids the API would refuse fail alone at once; repeats of an id seen earlier in the run and ids
an earlier run's journal settled are counted and dropped; the rest are packed. The packs go
through a bounded stream, so a slow API holds the reader back and memory stays flat.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from .._exceptions import InvalidRequestError
from .._validation import check_id
from .journal import Settled
from .options import FANOUT_READ_CHUNK
from .outcomes import TargetOutcome, invalid
from .packing import Packer
from .report import FanoutReport
from .seen import DigestSet

__all__ = ["Intake", "Targets"]

Targets = Iterable[str] | AsyncIterable[str]


class Intake:
    """Reads `targets` once into packs; `leftovers()` are taken targets not handed over."""

    def __init__(
        self,
        targets: Targets,
        packer: Packer,
        *,
        field: str,
        report: FanoutReport,
        reject: Callable[[TargetOutcome], None],
        seen: DigestSet | None,
        settled: Settled | None,
    ) -> None:
        self._targets = targets
        self._packer = packer
        self._field = field
        self._report = report
        self._reject = reject
        self._seen = seen
        self._settled = settled
        self._sending: list[str] = []

    async def run(self, packs: MemoryObjectSendStream[list[str]]) -> None:
        """Read every target, send the packs, and close `packs` at the end."""
        async with packs:
            if isinstance(self._targets, AsyncIterable):
                async for target in self._targets:
                    await self._send(packs, self._take(target))
            else:
                for count, target in enumerate(self._targets, start=1):
                    pack = self._take(target)
                    if pack:
                        await self._send(packs, pack)
                    elif count % FANOUT_READ_CHUNK == 0:
                        await anyio.lowlevel.checkpoint()  # a long list must not starve the loop
            await self._send(packs, self._packer.take())

    def _take(self, value: object) -> list[str] | None:
        """Admit one target; the pack it completes, if any (no await: most complete none)."""
        target = self._admit(value)
        return None if target is None else self._packer.add(target)

    async def _send(self, packs: MemoryObjectSendStream[list[str]], pack: list[str] | None) -> None:
        if pack:
            self._sending = pack
            await packs.send(pack)
            self._sending = []

    def _admit(self, value: object) -> str | None:
        """`value` when it is to be sent; otherwise counts or rejects it and returns None."""
        try:
            target = check_id(self._field, value)
        except InvalidRequestError as exc:
            self._reject(invalid(value, exc))
            return None
        report = self._report
        if self._seen is not None and not self._seen.add(target):
            report.duplicates += 1
            return None
        if self._settled is not None and self._skip(target):
            return None
        report.pending += 1
        return target

    def _skip(self, target: str) -> bool:
        assert self._settled is not None
        if self._settled.sent and target in self._settled.sent:
            self._report.already_sent += 1
            return True
        if self._settled.unknown and target in self._settled.unknown:
            self._report.already_unknown += 1
            return True
        return False

    def handed_over(self, pack: list[str]) -> None:
        """A sender received `pack`: it is the sender's to settle from now on (a cancelled
        `send` may raise after the item was received)."""
        if self._sending is pack:
            self._sending = []

    def leftovers(self) -> list[str]:
        """Targets taken and counted as pending but never handed to a sender."""
        return self._sending + self._packer.pending
