"""`rongpub emulator`: serve the emulator on a loopback port until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from functools import partial
from typing import Any

import anyio

from .._constants import (
    APP_KEY_ENV,
    APP_SECRET_ENV,
    BROADCAST_RATE_LIMIT,
    CHATROOM_RATE_LIMIT,
    GROUP_RATE_LIMIT,
    PRIVATE_RATE_LIMIT,
    SYSTEM_RATE_LIMIT,
)
from ._app import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Emulator
from ._faults import Faults
from ._server import serve
from ._server_limits import ServerLimits

__all__ = ["register", "run"]

#: The CLI's port when none is given.
DEFAULT_PORT = 9200


def register(subparsers: Any) -> None:
    """Add the `emulator` subcommand to the `rongpub` parser's `subparsers`."""
    parser = subparsers.add_parser(
        "emulator",
        help="run a local RongCloud server emulator",
        description="Serve the RongCloud emulator on a loopback port until Ctrl-C or SIGTERM.",
    )
    _add_server_flags(parser)
    _add_fault_flags(parser)
    parser.set_defaults(run=run)


def _add_server_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one (default 9200)")
    add(
        "--app-key",
        default=None,
        help=f"app key accepted (default ${APP_KEY_ENV} or {DEFAULT_APP_KEY})",
    )
    add(
        "--app-secret",
        default=None,
        help=f"its secret (default ${APP_SECRET_ENV} or the emulator's test secret)",
    )
    add("--group-limit", type=int, default=GROUP_RATE_LIMIT, help="group targets per second")
    add(
        "--chatroom-limit",
        type=int,
        default=CHATROOM_RATE_LIMIT,
        help="chatroom targets per second",
    )
    add("--private-limit", type=int, default=PRIVATE_RATE_LIMIT, help="private users per 60 s")
    add("--system-limit", type=int, default=SYSTEM_RATE_LIMIT, help="system users per second")
    add("--broadcast-limit", type=int, default=BROADCAST_RATE_LIMIT, help="broadcasts per second")
    add(
        "--broadcast-disabled",
        action="store_true",
        help="the app's chatroom broadcast service is off: broadcasts get 1009",
    )
    add(
        "--window",
        choices=("sliding", "fixed"),
        default="sliding",
        help="quota window model: any 1 s window, or calendar seconds (default sliding)",
    )
    add("--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop")
    add(
        "--strict",
        action="store_true",
        help="refuse what the documents leave unclear instead of accepting it with a warning",
    )
    add(
        "--request-timeout",
        type=float,
        default=ServerLimits.request_timeout,
        help="seconds a connection may take to send a whole request; idle ones close after it",
    )
    add(
        "--max-buffered-bytes",
        type=int,
        default=ServerLimits.max_buffered_bytes,
        help="request body bytes buffered over all connections at once (503 beyond)",
    )
    add(
        "--max-timestamp-age",
        type=float,
        default=None,
        help="seconds a Timestamp may differ from the clock (default: unchecked; 300 if --strict)",
    )


def _add_fault_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument_group("faults").add_argument
    add(
        "--latency",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=(0.0, 0.0),
        help="seconds of delay before each answer, uniform between MIN and MAX",
    )
    add("--error-rate", type=float, default=0.0, help="fraction answered 500/1000 or 504/1050")
    add(
        "--reset-before-rate",
        type=float,
        default=0.0,
        help="fraction of connections reset before the message is recorded",
    )
    add(
        "--reset-after-rate",
        type=float,
        default=0.0,
        help="fraction of connections reset after the message is recorded",
    )
    add(
        "--rate-limit-bursts",
        type=float,
        nargs=2,
        metavar=("EVERY", "LENGTH"),
        help="answer 429 for LENGTH seconds out of every EVERY seconds",
    )
    add("--retry-after", type=float, help="seconds sent as Retry-After on every 429")
    add("--seed", type=int, help="seed for faults and message UIDs (repeatable runs)")


def _faults(args: argparse.Namespace) -> Faults:
    every, length = args.rate_limit_bursts or (None, 0.0)
    return Faults(
        latency=tuple(args.latency),
        error_rate=args.error_rate,
        reset_before_rate=args.reset_before_rate,
        reset_after_rate=args.reset_after_rate,
        rate_limit_every=every,
        rate_limit_length=length,
        retry_after=args.retry_after,
    )


def build_emulator(args: argparse.Namespace) -> Emulator:
    """The emulator the parsed flags describe; raises ValueError for inconsistent values."""
    key = args.app_key or os.environ.get(APP_KEY_ENV) or DEFAULT_APP_KEY
    secret = args.app_secret or os.environ.get(APP_SECRET_ENV) or DEFAULT_APP_SECRET
    return Emulator(
        {key: secret},
        group_limit=args.group_limit,
        chatroom_limit=args.chatroom_limit,
        private_limit=args.private_limit,
        system_limit=args.system_limit,
        broadcast_limit=args.broadcast_limit,
        broadcast_enabled=not args.broadcast_disabled,
        window=args.window,
        faults=_faults(args),
        seed=args.seed,
        strict=args.strict,
        max_timestamp_age=args.max_timestamp_age,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit code."""
    try:
        emulator = build_emulator(args)
        limits = ServerLimits(
            request_timeout=args.request_timeout, max_buffered_bytes=args.max_buffered_bytes
        )
    except ValueError as exc:
        print(f"rongpub emulator: {exc}", file=sys.stderr)
        return 2
    try:
        serving = partial(_serve_until_signal, emulator, args.host, args.port, limits)
        anyio.run(serving, backend=args.backend)
    except OSError as exc:  # typically: the port is taken
        print(f"rongpub emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a Ctrl-C that landed before the signal handler was set
        pass
    print("rongpub emulator stopped", flush=True)
    return 0


async def _serve_until_signal(
    emulator: Emulator, host: str, port: int, limits: ServerLimits
) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with serve(emulator, host=host, port=port, limits=limits) as server:
            print(f"rongpub emulator listening on {server.url} ({_describe(emulator)})", flush=True)
            async for _ in signals:
                return


def _describe(emulator: Emulator) -> str:
    limits = emulator.limits
    return (
        f"app key {emulator.app_key}; group {limits['group']}/s, "
        f"chatroom {limits['chatroom']}/s, private {limits['private']}/60 s, "
        f"system {limits['system']}/s, broadcast {limits['broadcast']}/s"
        + ("" if emulator.broadcast_enabled else " (disabled)")
        + f", {emulator.window} window"
        + (", strict" if emulator.strict else "")
    )
