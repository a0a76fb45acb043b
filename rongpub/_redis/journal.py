"""`RedisJournal`: a fan-out journal in Redis, resumable from any host, one writer at a time.

Keys of the journal `<name>` (one hash tag, so a Redis Cluster keeps them in one slot):

- `<namespace>:{<name>}:meta`    hash: version, api, message fingerprint, token, holder
- `<namespace>:{<name>}:lease`   the token of the run writing it, with a TTL (`lease_ttl`)
- `<namespace>:{<name>}:sent`    hash target -> message UID ("" when none was answered)
- `<namespace>:{<name>}:failed`  hash target -> outcome (JSON)
- `<namespace>:{<name>}:unknown` hash target -> outcome (JSON)
- `<namespace>:{<name>}:sending` hash target -> request id, for requests with no outcome yet

Invariants: a target is in at most one of sent / failed / unknown (its last outcome);
`open` (scripts/journal_open.lua) takes the lease only when none is held, bumps the token,
and turns whatever a dead run left in `sending` unknown. Every write
(scripts/journal_write.lua) checks the token against the lease first and writes nothing if
the run lost it; it renews the lease and the keys' expiry (`expire_after` from the last
write). A request leaves only after its `sending` call returned ok, and only while the lease
the run last renewed has not run out by the local clock.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

import anyio
import msgspec

from .._exceptions import InvalidRequestError, JournalInUseError, JournalLostError
from .._fanout.journal import Settled
from .._fanout.outcomes import TargetOutcome
from .loop import on_asyncio

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

__all__ = [
    "DEFAULT_EXPIRE_AFTER",
    "DEFAULT_LEASE_TTL",
    "DEFAULT_RENEW_INTERVAL",
    "JournalCounts",
    "RedisJournal",
]

#: Seconds the lease outlives its last renewal: a run killed with SIGKILL is taken over
#: at most this long after its last write (so a resume starts within ~10 s).
DEFAULT_LEASE_TTL: Final = 10.0
#: Seconds between two renewals while no write renews it (a third of the TTL).
DEFAULT_RENEW_INTERVAL: Final = 3.0
#: Seconds the journal is kept after its last write (7 days); None: kept until deleted.
DEFAULT_EXPIRE_AFTER: Final = 7 * 24 * 3600.0
DEFAULT_JOURNAL_NAMESPACE: Final = "rongpub:journal"
_VERSION = "1"
_LINGER = 0.05  # seconds outcomes may wait for a `sending` call to carry them
_RETRY_INTERVAL = 0.2  # seconds between two tries while Redis does not answer
_SCAN_COUNT = 1000
_DEAD = "the run that sent it stopped before its outcome was recorded: it may have been accepted"


def _script(name: str) -> str:
    scripts = resources.files(__package__).joinpath("scripts")
    return scripts.joinpath(name).read_text(encoding="utf-8")


_OPEN = _script("journal_open.lua")
_WRITE = _script("journal_write.lua")


class _Holder(msgspec.Struct, frozen=True, kw_only=True):
    pid: int
    host: str
    started: float


@dataclass(frozen=True)
class JournalCounts:
    """Targets per state in a journal; `sending`: in requests with no outcome yet (a run is
    sending them, or a dead run left them: unknown once the next run opens it)."""

    sent: int
    failed: int
    unknown: int
    sending: int


_encode = msgspec.json.Encoder().encode
_decode_outcome = msgspec.json.Decoder(TargetOutcome).decode


class RedisJournal:
    """The journal `name` in Redis, for `rc.fanout_*(..., journal=RedisJournal(...))`.

    `lease_ttl`: seconds a run keeps the journal after its last write or renewal (renewed
    every `renew_interval`); a second run on the name raises `JournalInUseError` until the
    lease is released or has run out, then takes over and resumes. `expire_after`: seconds
    the keys outlive the last write (None: forever). Runs on asyncio (redis-py).
    """

    def __init__(
        self,
        client: Redis | RedisCluster,
        name: str,
        *,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        renew_interval: float = DEFAULT_RENEW_INTERVAL,
        expire_after: float | None = DEFAULT_EXPIRE_AFTER,
        namespace: str = DEFAULT_JOURNAL_NAMESPACE,
    ) -> None:
        if not name:
            raise InvalidRequestError("name", "must not be empty")
        if not 0 < renew_interval < lease_ttl:
            raise InvalidRequestError("renew_interval", "must be between 0 and lease_ttl")
        if expire_after is not None and expire_after < lease_ttl:
            raise InvalidRequestError("expire_after", "must be at least lease_ttl (or None)")
        self.name = name
        self._client = client
        self._owned: Redis | None = None
        self._ttl, self._renew = lease_ttl, renew_interval
        self._expire = "0" if expire_after is None else str(round(expire_after * 1000))
        base = f"{namespace}:{{{name}}}"
        self._keys = [f"{base}:{part}" for part in _PARTS]
        self._open_script = client.register_script(_OPEN)
        self._write_script = client.register_script(_WRITE)
        self._token: str | None = None
        self._deadline = 0.0  # local time the lease surely runs out by
        self._lost: JournalLostError | None = None
        self._buffer: list[TargetOutcome] = []
        self._wake: anyio.Event | None = None  # set when outcomes wait (made in `open`)
        self._written = 0.0  # local time of the last write that renewed the lease

    @classmethod
    def from_url(
        cls,
        url: str,
        name: str,
        *,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        renew_interval: float = DEFAULT_RENEW_INTERVAL,
        expire_after: float | None = DEFAULT_EXPIRE_AFTER,
        namespace: str = DEFAULT_JOURNAL_NAMESPACE,
        **redis_options: Any,
    ) -> RedisJournal:
        """Connect to `url` (`redis://`, `rediss://`, `unix://`); `aclose()` closes it.
        Socket timeouts default to a third of `renew_interval` (at least 1 s)."""
        from redis.asyncio import Redis

        timeout = max(1.0, renew_interval / 3)
        redis_options.setdefault("socket_timeout", timeout)
        redis_options.setdefault("socket_connect_timeout", timeout)
        client = Redis.from_url(url, **redis_options)
        journal = cls(
            client,
            name,
            lease_ttl=lease_ttl,
            renew_interval=renew_interval,
            expire_after=expire_after,
            namespace=namespace,
        )
        journal._owned = client
        return journal

    @property
    def description(self) -> str:
        """`redis journal '<name>' at <host>:<port>/<db>` (no password)."""
        kwargs = getattr(getattr(self._client, "connection_pool", None), "connection_kwargs", {})
        where = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        return f"redis journal {self.name!r} at {where}/{kwargs.get('db', 0)}"

    async def aclose(self) -> None:
        """Close the connection `from_url` opened (a client passed in is the caller's)."""
        if self._owned is not None:
            await self._owned.aclose()

    async def open(self, api: str, message: str, *, resend_unknown: bool) -> Settled:
        """Take the lease (`JournalInUseError` naming the holder while another run has it),
        check the message (`InvalidRequestError`), and read what earlier runs settled."""
        if not on_asyncio():
            raise InvalidRequestError("journal", "RedisJournal runs on asyncio only (redis-py)")
        holder = _Holder(pid=os.getpid(), host=socket.gethostname(), started=time.time())
        args: list[str | bytes] = [_VERSION, api, message, _encode(holder)]
        args += [self._ms(self._ttl), self._expire, _DEAD]
        started = anyio.current_time()
        try:
            reply = [_text(part) for part in await self._open_script(self._keys, args)]
        except Exception as exc:
            if not _unreachable(exc):
                raise
            raise JournalLostError(self.description, f"Redis cannot be reached ({exc})") from exc
        if reply[0] == "busy":
            raise self._in_use(reply[1])
        if reply[0] == "version":
            self._refuse(f"version {reply[1]} is not supported")
        if reply[0] == "other":
            self._refuse(
                f"it was written for another message ({reply[1]} {reply[2]}); "
                "use a new journal name for a new message"
            )
        self._token, self._deadline, self._lost = reply[1], started + self._ttl, None
        self._buffer, self._wake, self._written = [], anyio.Event(), started
        try:
            return await self._settled(resend_unknown)
        except BaseException:  # e.g. cancelled while it was read: let the next run in
            with anyio.CancelScope(shield=True):
                await self.close()
            raise

    async def _settled(self, resend_unknown: bool) -> Settled:
        """Sent and (unless resent) unknown targets, read in batches; the lease is renewed
        meanwhile (a million targets take seconds)."""
        settled = Settled()
        parts = [(self._keys[_SENT], settled.sent)]
        if not resend_unknown:
            parts.append((self._keys[_UNKNOWN], settled.unknown))
        for key, targets in parts:
            async for target, _ in self._client.hscan_iter(key, count=_SCAN_COUNT):
                targets.add(_text(target))
                if anyio.current_time() >= self._written + self._renew:
                    await self._write("", [], release=False)
        return settled

    async def keep(self, on_lost: Callable[[Exception], None]) -> None:
        """Renew the lease every `renew_interval`, and write outcomes no `sending` call
        carried within 50 ms; tell `on_lost` and return when the lease is lost."""
        try:
            while self._wake is not None:
                with anyio.move_on_after(self._written + self._renew - anyio.current_time()):
                    await self._wake.wait()
                    await anyio.sleep(_LINGER)
                self._wake = anyio.Event()  # `write` sets it again for outcomes from now on
                due = anyio.current_time() >= self._written + self._renew
                if self._buffer or due:
                    await self._write("", [], release=False)
        except JournalLostError as exc:
            on_lost(exc)

    async def sending(self, request_id: str, targets: list[str]) -> None:
        """Record the request (with the outcomes waiting) before it leaves; raises
        `JournalLostError` (the request must not leave) when the run lost the lease."""
        await self._write(request_id, targets, release=False)
        if anyio.current_time() >= self._deadline:  # the reply came after the lease ran out
            raise self._lose("the lease ran out while the journal was written")

    def write(self, outcomes: list[TargetOutcome]) -> None:
        """Queue outcomes for the next call (a `sending`, or `keep` within 50 ms)."""
        self._buffer.extend(outcomes)
        if self._wake is not None:
            self._wake.set()

    async def close(self) -> None:
        """Write what is queued and release the lease (safe to call twice). Outcomes that
        cannot be written leave their targets unknown to the next run."""
        if self._token is None:
            return
        try:
            if self._lost is None:
                await self._write("", [], release=True)
        except JournalLostError:
            pass  # the report has the run's outcomes; the next run finds them unknown
        finally:
            self._token, self._wake = None, None
            self._buffer.clear()

    async def counts(self) -> JournalCounts:
        """How many targets are sent, failed, unknown and sending (one round trip)."""
        async with self._client.pipeline(transaction=False) as pipe:
            for key in self._keys[_SENT:]:
                pipe.hlen(key)
            sent, failed, unknown, sending = await pipe.execute()
        return JournalCounts(int(sent), int(failed), int(unknown), int(sending))

    async def problems(self) -> AsyncIterator[TargetOutcome]:
        """The failed, then the unknown targets' outcomes, read in batches (HSCAN)."""
        for key in (self._keys[_FAILED], self._keys[_UNKNOWN]):
            async for _, value in self._client.hscan_iter(key, count=_SCAN_COUNT):
                yield _decode_outcome(value)

    async def sent(self) -> AsyncIterator[TargetOutcome]:
        """The sent targets' outcomes (with their message UID when known), in batches."""
        async for target, uid in self._client.hscan_iter(self._keys[_SENT], count=_SCAN_COUNT):
            yield TargetOutcome(target=_text(target), status="sent", message_uid=_text(uid) or None)

    async def delete(self) -> None:
        """Remove the journal's keys (refused while a run holds it)."""
        if await self._client.exists(self._keys[_LEASE]):
            raise self._in_use(_text(await self._client.hget(self._keys[_META], "holder") or ""))
        await self._client.delete(*self._keys)

    async def _write(self, request_id: str, targets: list[str], *, release: bool) -> None:
        if self._lost is not None:
            raise self._lost
        if self._token is None:
            raise RuntimeError("the journal is not open")
        outcomes, self._buffer = self._buffer, []
        args: list[str | bytes] = [self._token, self._ms(self._ttl), self._expire]
        args += ["1" if release else "0", request_id, str(len(targets)), *targets]
        for outcome in outcomes:
            value = outcome.message_uid or "" if outcome.status == "sent" else _encode(outcome)
            args += [outcome.target, outcome.status, value]
        try:
            reply, started = await self._call(args)
        except BaseException:
            if self._lost is None:  # cancelled: the outcomes go with the next call
                self._buffer[:0] = outcomes
            raise
        if _text(reply[0]) != "ok":
            raise self._lose(f"the lease was lost (held by {_holder_text(_text(reply[1]))})")
        self._written = max(self._written, started)  # calls may end out of order
        self._deadline = self._written + self._ttl

    async def _call(self, args: list[str | bytes]) -> tuple[list[Any], float]:
        """Run the write script, trying again while Redis is unreachable and the lease
        lasts (the writes are idempotent); returns the reply and when the try started."""
        while True:
            started = anyio.current_time()
            try:
                with anyio.fail_after(max(0.0, self._deadline - started)):
                    return await self._write_script(self._keys, args), started
            except TimeoutError:
                raise self._lose("Redis did not answer before the lease ran out") from None
            except Exception as exc:
                if not _unreachable(exc):
                    raise self._lose(f"Redis refused the write ({exc})") from exc
                if anyio.current_time() + _RETRY_INTERVAL >= self._deadline:
                    raise self._lose(
                        f"Redis did not answer before the lease ran out ({exc})"
                    ) from exc
                await anyio.sleep(_RETRY_INTERVAL)

    def _lose(self, reason: str) -> JournalLostError:
        self._lost = JournalLostError(self.description, reason)
        return self._lost

    def _in_use(self, holder: str) -> JournalInUseError:
        try:
            who = msgspec.json.decode(holder, type=_Holder)
        except msgspec.DecodeError:
            return JournalInUseError(self.description)
        return JournalInUseError(self.description, pid=who.pid, host=who.host, started=who.started)

    def _refuse(self, reason: str) -> None:
        raise InvalidRequestError("journal", f"{self.description}: {reason}")

    @staticmethod
    def _ms(seconds: float) -> str:
        return str(max(1, round(seconds * 1000)))


_PARTS = ("meta", "lease", "sent", "failed", "unknown", "sending")
_META, _LEASE, _SENT, _FAILED, _UNKNOWN = range(5)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _holder_text(holder: str) -> str:
    try:
        who = msgspec.json.decode(holder, type=_Holder)
    except msgspec.DecodeError:
        return "another run"
    return f"pid {who.pid} on {who.host}"


def _unreachable(exc: Exception) -> bool:
    """Whether Redis was not reached or not ready (a restart): the call may be tried again."""
    from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

    return isinstance(exc, ConnectionError | TimeoutError | BusyLoadingError | OSError)
