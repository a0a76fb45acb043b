"""Suite 3: microseconds to validate, encode and sign one group and one chatroom request.

rongpub's path (`group_template(...).to(ids)` / `chatroom_template`, msgspec JSON, its form
encoder, `Credentials.headers()`) against a baseline written with the standard library
(`json.dumps`, `urllib.parse.urlencode`, the same checks by hand) that builds byte-identical
bodies, asserted before timing. For reference, the official rc-server-sdk's own path
(a Jinja2 template compiled on every call) is timed too; it builds its own body.

    python benchmarks/request_building.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
import time
import timeit
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import RESULTS, ratio, table, write_json

from rongpub import TextMessage, UserInfo
from rongpub._constants import BUILTIN_OBJECT_NAMES, MAX_CONTENT_BYTES, MAX_GROUPS
from rongpub._request import chatroom_template, group_template
from rongpub._signing import Credentials

__all__ = ["main", "measure"]

KEY, SECRET = "bench-app-key", "bench-app-secret"
SENDER, GROUP, ROOM = "u1", "group-1", "room-1"
TEXT = "Hello, 世界 & friends: 50% off today!"
USER = {"id": "u1", "name": "Alice"}
BASELINE = "stdlib json + urlencode"


def _rongpub(api: str, credentials: Credentials) -> Callable[[], tuple[bytes, dict[str, str]]]:
    content = TextMessage(content=TEXT, user=UserInfo(id=USER["id"], name=USER["name"]))
    if api == "group":

        def build() -> tuple[bytes, dict[str, str]]:
            template = group_template(from_user_id=SENDER, content=content, persisted=True)
            return template.to([GROUP]).body, credentials.headers()
    else:

        def build() -> tuple[bytes, dict[str, str]]:
            template = chatroom_template(from_user_id=SENDER, content=content, priority=2)
            return template.to([ROOM]).body, credentials.headers()

    return build


def _check_ids(ids: list[str], maximum: int | None) -> list[str]:
    if not ids or any(not isinstance(i, str) or not i for i in ids) or len(set(ids)) != len(ids):
        raise ValueError("ids must be distinct non-empty strings")
    if maximum is not None and len(ids) > maximum:
        raise ValueError("too many ids")
    return ids


def _stdlib_headers() -> dict[str, str]:
    nonce, stamp = secrets.token_hex(9), str(int(time.time() * 1000))
    sign = hashlib.sha1((SECRET + nonce + stamp).encode()).hexdigest()
    headers = {"App-Key": KEY, "Nonce": nonce, "Timestamp": stamp, "Signature": sign}
    headers["X-Request-ID"] = str(uuid.uuid4())  # rongpub's request carries one too
    return headers


def _stdlib(api: str) -> Callable[[], tuple[bytes, dict[str, str]]]:
    """The same body built the way a careful hand-written client would, stdlib only."""
    key, ids, maximum = (
        ("toGroupId", [GROUP], MAX_GROUPS) if api == "group" else ("toChatroomId", [ROOM], None)
    )
    extra = [("isPersisted", "1")] if api == "group" else [("priority", "2")]

    def build() -> tuple[bytes, dict[str, str]]:
        if not isinstance(SENDER, str) or not SENDER:
            raise ValueError("from_user_id")
        targets = _check_ids(ids, maximum)
        body = json.dumps(
            {"content": TEXT, "user": USER}, ensure_ascii=False, separators=(",", ":")
        )
        encoded = body.encode()
        if len(encoded) > MAX_CONTENT_BYTES or "RC:TxtMsg" not in BUILTIN_OBJECT_NAMES:
            raise ValueError("content")
        pairs: list[tuple[str, str | bytes]] = [("fromUserId", SENDER)]
        pairs += [(key, target) for target in targets]
        pairs += [("objectName", "RC:TxtMsg"), ("content", encoded), *extra]
        return urlencode(pairs, quote_via=quote).encode("ascii"), _stdlib_headers()

    return build


def _official(api: str) -> Callable[[], object]:
    """rc-server-sdk 3.2.0's own build and sign, its HTTP call replaced by a no-op."""
    from rongcloud.rongcloud import RongCloud as Official

    message = Official(KEY, SECRET, host_url="http://127.0.0.1:9").get_message()
    module = message.get_group() if api == "group" else message.get_chatroom()
    module._http_post = lambda url, data="": (module._signature(), data.encode("utf-8"))
    content = {"content": TEXT, "user": USER}
    if api == "group":
        return lambda: module.send(SENDER, GROUP, "RC:TxtMsg", content)
    return lambda: module.send(SENDER, ROOM, "RC:TxtMsg", content)


def _time_us(function: Callable[[], object], repeats: int, budget: float) -> float:
    """Best-of-`repeats` microseconds per call, each repeat about `budget` seconds long
    (timeit's advice: the minimum is the signal, the rest is interference)."""
    timer = timeit.Timer(function)
    once = max(timer.timeit(number=1), 1e-7)
    number = max(1, int(budget / once))
    return min(timer.repeat(repeat=repeats, number=number)) / number * 1e6


def measure(*, quick: bool) -> dict[str, Any]:
    """Run the suite; returns its JSON section (also printed as a table)."""
    repeats, budget = (3, 0.05) if quick else (7, 0.2)
    credentials = Credentials(KEY, SECRET)
    rows: list[dict[str, Any]] = []
    for api in ("group", "chatroom"):
        ours, base = _rongpub(api, credentials), _stdlib(api)
        if ours()[0] != base()[0]:
            raise AssertionError(f"{api}: the stdlib baseline does not build rongpub's bytes")
        base_us = _time_us(base, repeats, budget)
        for name, function in (
            (BASELINE, base),
            ("rongpub (msgspec)", ours),
            ("rc-server-sdk", _official(api)),
        ):
            us = base_us if name == BASELINE else _time_us(function, repeats, budget)
            rows.append({"api": api, "path": name, "us": us, "ratio": ratio(us, base_us)})
    print(
        table(
            f"Request building: validate + encode + sign one request (best of {repeats}; "
            "ratio to the stdlib path)",
            ("api", "path", "us/request", "x stdlib"),
            [(r["api"], r["path"], r["us"], r["ratio"]) for r in rows],
        )
        + "\n"
    )
    return {"baseline": BASELINE, "repeats": repeats, "rows": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", type=Path, default=RESULTS / "request_building.json")
    args = parser.parse_args(argv)
    write_json(args.json, measure(quick=args.quick))


if __name__ == "__main__":
    main()
