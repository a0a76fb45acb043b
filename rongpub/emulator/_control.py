"""The emulator's own HTTP endpoints under `/_emulator/`, for a server in another process.

| method | path | answer |
|---|---|---|
| GET | `/_emulator/stats[?app_key=K]` | `{"group": ApiStats, ...}`, one per API |
| GET | `/_emulator/messages[?FILTER=VALUE...]` | records; filters as `Emulator.messages` |
| GET | `/_emulator/arrivals` | every publish arrival (time, api, app_key, targets, outcome) |
| GET | `/_emulator/warnings` | every relaxed rule (`FidelityWarning`: rule, field, detail, ...) |
| GET / PUT | `/_emulator/faults` | the current `Faults` as JSON / replace them |
| POST | `/_emulator/rate-limit?requests=N&seconds=S` | force a 429 burst |
| POST | `/_emulator/reset` | forget records, arrivals, quota usage and bursts |
| PUT | `/_emulator/broadcast?enabled=B` | B true or false: the broadcast service (off: 1009) |

No secret is ever part of an answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import msgspec

from ._faults import Faults
from ._form import param_error
from ._wire import Rejection, Reply, error_reply, json_reply

if TYPE_CHECKING:
    from ._app import Emulator

__all__ = ["PREFIX", "handle"]

PREFIX = "/_emulator/"
_OK = {"code": 200}
_MESSAGE_FILTERS = ("group", "chatroom", "private", "system", "api", "from_user_id", "app_key")


def handle(emulator: Emulator, method: str, path: str, query: str, body: bytes) -> Reply:
    """Answer one control request."""
    params = {name: values[-1] for name, values in parse_qs(query).items()}
    try:
        return _route(emulator, (method, path.removeprefix(PREFIX)), params, body)
    except Rejection as rejection:
        return error_reply(rejection)


def _route(
    emulator: Emulator, route: tuple[str, str], params: dict[str, str], body: bytes
) -> Reply:
    match route:
        case ("GET", "stats"):
            return json_reply(200, emulator.stats(params.get("app_key")))
        case ("GET", "messages"):
            filters = {name: params[name] for name in _MESSAGE_FILTERS if name in params}
            return json_reply(200, emulator.messages(**filters))
        case ("GET", "arrivals"):
            return json_reply(200, emulator.arrivals)
        case ("GET", "warnings"):
            return json_reply(200, emulator.warnings())
        case ("GET", "faults"):
            return json_reply(200, emulator.faults)
        case ("PUT", "faults"):
            emulator.faults = _decode_faults(body)
            return json_reply(200, _OK)
        case ("POST", "rate-limit"):
            requests, seconds = _burst(params)
            emulator.force_rate_limit(requests=requests, seconds=seconds)
            return json_reply(200, _OK)
        case ("PUT", "broadcast"):
            emulator.broadcast_enabled = _switch(params.get("enabled", ""))
            return json_reply(200, _OK)
        case ("POST", "reset"):
            emulator.reset()
            return json_reply(200, _OK)
    return error_reply(Rejection(404, 404, "no such emulator endpoint"))


def _decode_faults(body: bytes) -> Faults:
    try:
        return msgspec.json.decode(body, type=Faults)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise param_error("faults", str(exc)) from exc


def _switch(value: str) -> bool:
    if value not in ("true", "false"):
        raise param_error("enabled", "must be true or false")
    return value == "true"


def _burst(params: dict[str, str]) -> tuple[int, float]:
    try:
        requests, seconds = int(params.get("requests", 0)), float(params.get("seconds", 0))
    except ValueError as exc:
        raise param_error("rate-limit", "requests and seconds must be numbers") from exc
    if requests < 0 or seconds < 0:
        raise param_error("rate-limit", "requests and seconds must not be negative")
    return requests, seconds
