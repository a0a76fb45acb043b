"""Suite 1, third column: the official rc-server-sdk against the strict server.

rc-server-sdk 3.2.0 has no rate limiter and no retry, so what a service built on it sees at
full demand is the server's answer: how many 429s, and how much of the quota it still uses.
It runs with `quota_fidelity.py`'s settings and figures (its `figures()`, so every column
means the same): rongpub's emulator in its own process, the real quotas (group 20/s,
chatroom 100/s) in a strict sliding 1 s window, answers after 50-300 ms, 200 callers, here
threads, since the SDK blocks. Each call sends to one target (the SDK cannot address more);
every 429 is a message lost.

    python benchmarks/official_sdk.py [--quick] [--duration S] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import RESULTS, run_threads, table, write_json
from _quota_clients import Tally
from quota_fidelity import APIS, CALLERS, KEY, LATENCY, SECRET, figures

from rongpub.emulator import EmulatorProcess, Faults, start_in_subprocess

__all__ = ["NAME", "main", "measure"]

NAME = "rc-server-sdk (thread pool)"
_RATE_LIMITED = (b'"code":1008', b'"code": 1008')


def _sender(url: str, api: str, tally: Tally) -> Callable[[], object]:
    """A blocking send of one message to one target, tallied as the other clients are."""
    from rongcloud.rongcloud import RongCloud as Official

    message = Official(KEY, SECRET, host_url=url).get_message()
    content = {"content": "hello from the quota fidelity benchmark"}
    module = message.get_group() if api == "group" else message.get_chatroom()
    lock = threading.Lock()

    def send() -> object:
        reply = module.send("u1", f"{api}-0", "RC:TxtMsg", content)
        with lock:
            # On HTTP errors the SDK returns the raw body bytes instead of a dict.
            if isinstance(reply, dict) and reply.get("code") == 200:
                tally.delivered += 1
            elif isinstance(reply, bytes) and any(code in reply for code in _RATE_LIMITED):
                tally.fail("429 (no retry)", 1)
            else:
                tally.fail("other error", 1)
        return reply

    return send


def _run_api(child: EmulatorProcess, api: str, seconds: float) -> dict[str, Any]:
    child.reset()
    tally = Tally()
    run_threads(
        _sender(child.url, api, tally),
        CALLERS,
        warmup=0.0,
        seconds=seconds,
        server_cpu=lambda: None,
    )
    time.sleep(0.5)  # as quota_fidelity: answers still on their way are not arrivals
    arrivals = sorted((a for a in child.arrivals() if a.api == api), key=lambda a: a.time)
    return figures(arrivals, tally, APIS[api][0], seconds)


def measure(*, seconds: float) -> dict[str, Any]:
    """Run both APIs; the JSON section (also printed as a table)."""
    result: dict[str, Any] = {"client": NAME, "seconds": seconds, "callers": CALLERS}
    result["latency"] = list(LATENCY)
    faults = Faults(latency=LATENCY)
    with start_in_subprocess(
        app_key=KEY, app_secret=SECRET, window="sliding", faults=faults, seed=7
    ) as child:
        for api in APIS:
            result[api] = _run_api(child, api, seconds)
    columns = ("limit", "requests", "rate_limited", "per_1000", "quota_used", "targets_lost")
    headers = ("api", "limit/s", "requests", "429s", "429s/1000", "quota used", "lost")
    rows = [[api, *(result[api][column] for column in columns)] for api in APIS]
    title = f"{NAME}, {CALLERS} threads, {seconds:g} s per API, strict sliding window"
    print(table(title, (*headers, "worst 1s"), [
        [*row, result[api]["worst_window_arrived"]] for row, api in zip(rows, APIS, strict=True)
    ]) + "\n")  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per API (60)")
    parser.add_argument("--quick", action="store_true", help="6 s per API")
    parser.add_argument("--json", type=Path, default=RESULTS / "official_sdk.json")
    args = parser.parse_args(argv)
    write_json(args.json, measure(seconds=6.0 if args.quick else args.duration))


if __name__ == "__main__":
    main()
