"""`rongpub fanout group|chatroom|private|system`: one message to every id of a file (or stdin).

    rongpub fanout group --targets groups.txt --from-user sys --object-name RC:TxtMsg \\
        --content '{"content":"hello"}' --journal announce.jsonl

`--journal redis://host:6379/0 --journal-name NAME` keeps the journal in Redis instead
(resumable from any host; a second run on the name is refused while the first holds it).

The app key and secret come from RONGCLOUD_APP_KEY / RONGCLOUD_APP_SECRET. Exit code 0 only
when every target was sent; 1 when some failed or are unknown (see the journal); 2 for bad
arguments, a journal another run is writing or a Redis journal out of reach (nothing is
sent); 130 after Ctrl-C, once or twice (the partial report is printed; re-run with the same
journal to resume).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, Any

import anyio

from .._client import RongCloud
from .._config import RateLimits
from .._exceptions import InvalidRequestError, JournalInUseError, JournalLostError
from .._fanout.engine import Fanout
from .._fanout.report import FanoutAborted, FanoutReport
from .._observe.telemetry import Tally
from .._redis.journal import RedisJournal
from .progress import describe, open_display

__all__ = ["register", "run"]

#: Bytes of target lines read per trip to a worker thread.
_READ_CHUNK = 64 * 1024
_INTERRUPTED = 130
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
#: The fan-out kinds: the subcommand, and what its targets are.
_KINDS = {
    "group": "groups",
    "chatroom": "chatrooms",
    "private": "users, as private messages",
    "system": "users, as system messages",
}


def register(subparsers: Any) -> None:
    """Add the `fanout` subcommand (group, chatroom, private, system) to the `rongpub` parser."""
    parser = subparsers.add_parser(
        "fanout",
        help="send one message to many groups, chatrooms or users",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    apis = parser.add_subparsers(dest="api", required=True)
    for api, what in _KINDS.items():
        sub = apis.add_parser(api, help=f"fan a message out to {what}")
        _add_common(sub)
        if api == "chatroom":
            sub.add_argument("--priority", type=int, choices=range(4), help="0-3")
        else:
            sub.add_argument("--push-content", help="text of the push notification")
            sub.add_argument("--push-data", help="push payload (appData)")
        sub.set_defaults(run=run)


def _add_common(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--targets", required=True, help="file with one id per line, or - for stdin")
    add("--from-user", required=True, help="sender user id")
    add("--object-name", required=True, help="message type, e.g. RC:TxtMsg")
    add("--content", required=True, help='message content, e.g. \'{"content":"hi"}\'')
    add("--journal", help="JSONL journal of every outcome, or a redis:// URL; re-run to resume")
    add("--journal-name", help="name of the journal in Redis (with --journal redis://...)")
    add("--resend-unknown", action="store_true", help="resend targets the journal left unknown")
    add("--base-url", action="append", help="API host (repeat for failover hosts)")
    add("--region", default="cn", help="data centre: cn, sg, sg-b, na, sa (default cn)")
    add(
        "--rate-limit",
        type=int,
        help="targets per second, private users per 60 s (default: the documented quota)",
    )
    add(
        "--pack-size",
        type=int,
        help="targets per request (default 3 groups, 10 chatrooms, 1000 / 100 users)",
    )
    add("--concurrency", type=int, help="requests in flight (default: from quota and latency)")
    lanes = ("bulk", "interactive")
    add("--lane", choices=lanes, default="bulk", help="bulk: interactive sends go first")
    add("--plain", action="store_true", help="plain progress lines instead of a progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the fan-out the arguments describe; returns the exit code."""
    try:
        return anyio.run(_main, args)
    except (InvalidRequestError, JournalInUseError, JournalLostError, OSError) as exc:
        print(f"rongpub fanout: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a Ctrl-C once the report was printed, while closing
        return _INTERRUPTED


async def _main(args: argparse.Namespace) -> int:
    limits = RateLimits() if args.rate_limit is None else _limits(args.api, args.rate_limit)
    total = None if args.targets == "-" else await anyio.to_thread.run_sync(_count, args.targets)
    async with RongCloud(region=args.region, base_urls=args.base_url, rate_limits=limits) as rc:
        with (
            _open_targets(args.targets) as stream,
            open_display(plain=True if args.plain else None) as display,
        ):
            track = display.track(args.api)
            journal = _journal(args)
            try:
                fanout = _fanout(rc, args, _read_lines(stream), track, total, journal)
                interrupted = await run_interruptibly(fanout.run, fanout.stop_now)
            finally:
                if isinstance(journal, RedisJournal):
                    await journal.aclose()
        code = _conclude(fanout.report, interrupted)  # before closing: no report is lost
        _tell_waits(rc._sender.telemetry.tally)
        return code


def _tell_waits(tally: Tally) -> None:
    """The client's side of the quota: how long requests waited for it, how many 429s."""
    mean = tally.quota_wait / tally.quota_waits if tally.quota_waits else 0.0
    print(
        f"quota wait: {mean:.2f} s per request on average ({tally.quota_wait:.1f} s in all); "
        f"429 answers: {tally.rate_limited}; retries: {tally.retries}; "
        f"failovers: {tally.failovers}"
    )


def _journal(args: argparse.Namespace) -> str | RedisJournal | None:
    """The `--journal` file, or the Redis journal `--journal-name` at a redis:// URL."""
    location, name = args.journal, args.journal_name
    if location is None or not location.startswith(_REDIS_SCHEMES):
        if name is not None:
            raise InvalidRequestError("--journal-name", "goes with --journal redis://...")
        return location  # type: ignore[no-any-return]
    if not name:
        raise InvalidRequestError("--journal-name", "is required with a redis:// journal")
    return RedisJournal.from_url(location, name)


def _limits(api: str, rate: int) -> RateLimits:
    limits: dict[str, int] = {api: rate}
    return RateLimits(**limits)


def _fanout(
    rc: RongCloud,
    args: argparse.Namespace,
    targets: AsyncIterator[str],
    on_progress: Callable[[FanoutReport], None],
    total: int | None,
    journal: object,
) -> Fanout:
    options: dict[str, Any] = {
        "total": total,
        "journal": journal,
        "resend_unknown": args.resend_unknown,
        "concurrency": args.concurrency,
        "lane": args.lane,
        "on_progress": on_progress,
        "from_user_id": args.from_user,
        "object_name": args.object_name,
        "content": _content(args.content),
    }
    if args.pack_size is not None:
        options["pack_size"] = args.pack_size
    if args.api == "chatroom":
        return rc.fanout_chatroom(targets, priority=args.priority, **options)
    options.update(push_content=args.push_content, push_data=args.push_data)
    if args.api == "private":
        return rc.fanout_private(targets, **options)
    if args.api == "system":
        return rc.fanout_system(targets, **options)
    return rc.fanout_group(targets, **options)


def _content(text: str) -> object:
    """A JSON object is sent as JSON (and checked against its type's fields); anything else,
    for custom types, as is."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def _open_targets(name: str) -> IO[bytes]:
    return open(0, "rb", closefd=False) if name == "-" else open(name, "rb")


def _count(name: str) -> int:
    """Non-blank lines of the file `name` (for the ETA)."""
    with open(name, "rb") as file:
        return sum(1 for line in file if line.strip())


async def _read_lines(stream: IO[bytes]) -> AsyncIterator[str]:
    """The non-blank lines of `stream`, read in chunks in a worker thread (a slow pipe must
    not stall the requests in flight)."""
    while True:
        lines = await anyio.to_thread.run_sync(stream.readlines, _READ_CHUNK)
        if not lines:
            return
        for line in lines:
            target = line.strip().decode("utf-8", "surrogateescape")
            if target:
                yield target


async def run_interruptibly(
    main: Callable[[], Awaitable[object]], stop_now: Callable[[], None] | None = None
) -> bool:
    """Run `main()`; the first Ctrl-C (or SIGTERM) cancels it, which lets the requests in
    flight settle; a second one calls `stop_now()` (they are no longer waited for). Signals
    are caught until `main` returns, so no Ctrl-C ends in a traceback. Returns whether it
    was interrupted. A fan-out that stopped early (`FanoutAborted`, or an error reading the
    targets) returns normally: its report says why.
    """
    interrupted, error = False, None
    main_scope = anyio.CancelScope()

    async def watch() -> None:
        nonlocal interrupted
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                if not interrupted:
                    interrupted = True
                    print("\nstopping: letting requests in flight settle...", file=sys.stderr)
                    main_scope.cancel()
                elif stop_now is not None:
                    print("\nstopping now: requests in flight stay unknown", file=sys.stderr)
                    stop_now()

    async with anyio.create_task_group() as group:
        group.start_soon(watch)  # outside `main_scope`: a second signal is still caught
        with main_scope:
            try:
                await main()
            except (FanoutAborted, OSError):
                pass
            except Exception as exc:  # raised below, outside the task group
                error = exc
        group.cancel_scope.cancel()  # main is over: stop watching signals
    if error is not None:
        raise error
    return interrupted


def _conclude(report: FanoutReport, interrupted: bool) -> int:
    """Print the final (or partial) report; the exit code."""
    counts, rate = describe(report)
    state = "interrupted" if interrupted else "done"
    print(f"{report.api} fan-out {state}: {counts}; {rate}; {report.elapsed:.1f} s")
    if report.duplicates:
        print(f"{report.duplicates} repeated ids ignored")
    if report.error is not None:
        print(f"stopped early: {report.error}")
    if report.journal is not None:
        print(f"journal: {report.journal}")
    if interrupted:
        return _INTERRUPTED
    return 0 if report.complete else 1
