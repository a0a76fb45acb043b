"""Markdown tables for the README, one renderer per suite's JSON (`RENDERERS`).

Each renderer takes the suite's result and every suite's entry (to combine tables) and
returns Markdown lines; `generic` shows a suite without a renderer of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["RENDERERS", "Json", "entries", "generic", "lanes_summary"]

Json = dict[str, Any]


def _num(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-" if value is None else str(value)
    if value != value:  # NaN
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _pct(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "-"


def _x(value: object) -> str:
    return f"{value:.2f}×" if isinstance(value, int | float) else "-"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _quota_rows(result: Json) -> list[list[str]]:
    return [
        [label, api, _pct(entry["quota_used"]), _num(entry["per_1000"]),
         _num(entry["targets_lost"]), f"{_num(entry['worst_window_arrived'])} / {entry['limit']}"]
        for label, api, entry in entries(result)
    ]  # fmt: skip


def _quota(result: Json, suites: Json) -> list[str]:
    """rongpub, the naive approach and (when it ran) the official SDK in one table."""
    rows = _quota_rows(result)
    official = suites.get("official_sdk", {})
    if official.get("status") == "ok":
        rows += _quota_rows(official["result"])
    rows.sort(key=lambda row: row[1] != "group")
    headers = ("client", "API", "quota used", "429s per 1,000", "targets lost", "worst 1 s / limit")
    seconds = f"{result['seconds']:g} s"
    if official.get("status") == "ok" and official["result"]["seconds"] != result["seconds"]:
        seconds += f" (rc-server-sdk: {official['result']['seconds']:g} s)"
    note = (
        f"{result['callers']} callers, {seconds} per client and API; quota used in the steady "
        "part of the run; worst 1 s: most targets that arrived in any 1 s window."
    )
    return [note, "", *_table(headers, rows), ""]


def _official(result: Json, suites: Json) -> list[str]:
    if suites.get("quota_fidelity", {}).get("status") == "ok":
        return ["In the quota-fidelity table above.", ""]
    return _quota(result, {})


def _overhead(result: Json, suites: Json) -> list[str]:
    by_client: dict[str, dict[int, Json]] = {}
    for row in result["rows"]:
        by_client.setdefault(row["client"], {})[row["concurrency"]] = row
    levels = sorted({row["concurrency"] for row in result["rows"]})
    headers = (
        ["client"] + [f"sends/s at {n}" for n in levels] + [f"CPU µs/send at {n}" for n in levels]
    )
    rows = [
        [client]
        + [f"{_num(by[n]['rate'])} ({_x(by[n]['rate_ratio'])})" for n in levels]
        + [f"{_num(by[n]['cpu_us'])} ({_x(by[n]['cpu_ratio'])})" for n in levels]
        for client, by in by_client.items()
    ]
    lines = _table(headers, rows)
    check = result.get("server_check")
    if check:
        emu, fast = check["emulator"], check["fast_server"]
        lines += [
            "",
            f"Server check: bare aiohttp at concurrency 20 reached {_num(emu['rate'])} sends/s "
            f"against rongpub's emulator (its core {_pct(emu['server_busy'])} busy) and "
            f"{_num(fast['rate'])} against the fixed-answer server ({_pct(fast['server_busy'])} "
            "busy), which is why the latter is the target here.",
        ]
    return [*lines, "", *_instruction_lines(result.get("instructions"))]


def _instruction_lines(counts: Json | None) -> list[str]:
    """The callgrind counts of the overhead suite: instructions per send, x bare httpx."""
    if counts is None:
        return []
    if counts["status"] != "ok":
        return [f"Instructions per send: not counted ({counts['status']}: {counts['error']}).", ""]
    by_client: dict[str, dict[int, Json]] = {}
    for row in counts["rows"]:
        by_client.setdefault(row["client"], {})[row["concurrency"]] = row
    levels = sorted({row["concurrency"] for row in counts["rows"]})
    rows = [
        [client] + [f"{_num(by[n]['instructions_per_send'])} ({_x(by[n]['ratio'])}, "
                    f"{_x(by[n]['ratio_min'])}-{_x(by[n]['ratio_max'])})" for n in levels]
        for client, by in by_client.items()
    ]  # fmt: skip
    note = (
        f"Instructions per send, counted by callgrind (median of {counts['rounds']} blocks "
        f"of {counts['sends_per_block']} sends per client, each block a process of its own; "
        "x bare httpx, then the range of the ratio over the rounds' pairs of blocks), a "
        "measure the machine's load does not move:"
    )
    return [note, "", *_table(["client", *(f"at {n}" for n in levels)], rows), ""]


def _request_building(result: Json, suites: Json) -> list[str]:
    paths = list(dict.fromkeys(row["path"] for row in result["rows"]))
    cells = {(row["api"], row["path"]): row for row in result["rows"]}
    rows = [
        [api] + [f"{_num(cells[api, p]['us'])} µs ({_x(cells[api, p]['ratio'])})" for p in paths]
        for api in dict.fromkeys(row["api"] for row in result["rows"])
    ]
    return [*_table(["one request to one target", *paths], rows), ""]


def _fanout(result: Json, suites: Json) -> list[str]:
    """(a) a generator of targets with limits lifted; (b) accounting at the real quotas."""
    lifted = [
        [str(row.get("transport")), _num(row.get("targets")), _num(row.get("targets_per_second")),
         _num(row.get("peak_rss_mb")), _num(row.get("engine_cpu_us_per_target")),
         _num(row.get("fanout_cpu_us_per_target")), _num(row.get("baseline_cpu_us_per_target"))]
        for row in result.get("lifted", [])
    ]  # fmt: skip
    lines = _table(
        ["transport", "targets", "targets/s", "peak RSS MB", "engine CPU µs/target",
         "fan-out CPU µs/target", "bare loop CPU µs/target (baseline)"],
        lifted,
    )  # fmt: skip
    quotas = result.get("quotas") or {}
    rows = [
        [api, *(_num(row.get(key)) for key in
                ("targets", "sent", "failed", "unknown", "lost", "duplicated", "rate_limited")),
         _pct(row.get("quota_used"))]
        for api, row in (quotas.get("apis") or {}).items()
    ]  # fmt: skip
    if rows:
        lines += ["", f"At the real quotas, both APIs at once for {_num(quotas.get('seconds'))} s, "
                  "with 5% 5xx answers and 1% connection resets:", ""]  # fmt: skip
        headers = ["API", "targets", "sent", "failed", "unknown", "lost", "duplicated", "429s"]
        lines += _table([*headers, "quota used"], rows)
    journals = result.get("journals") or {}
    if journals:
        rates = journals.get("targets_per_second") or {}
        count = _num(journals.get("targets"))
        lines += ["", f"Journal cost, limits lifted ({count} group targets, engine with an "
                  "instant send):", ""]  # fmt: skip
        lines += _table(
            ["no journal targets/s", "file targets/s", "Redis targets/s", "Redis / file",
             "Redis calls / request", "Redis bytes / target"],
            [[_num(rates.get("none")), _num(rates.get("file")), _num(rates.get("redis")),
              _x(journals.get("redis_vs_file")), _num(journals.get("redis_calls_per_request")),
              _num(journals.get("redis_bytes_per_target"))]],
        )  # fmt: skip
    return [*lines, ""]


def _late(row: Json) -> str:
    """Sends that left and writes that ended later than the slack, and the bookings they moved."""
    if row.get("late_writes") is None:
        return "-"
    late = f"{_num(row.get('moved'))} / {_num(row.get('late_writes'))}"
    return f"{late} ({_num(row.get('crowded'))})"


def _shared_quota(result: Json, suites: Json) -> list[str]:
    """Redis-shared quota against one process (the reference) and unshared processes."""
    rows = [
        [str(row.get("api")), str(row.get("config")), _pct(row.get("quota_used")),
         _num(row.get("per_1000")), _num(_per_1000(row.get("steady_rate_limited"),
                                                   row.get("steady_requests"))),
         _num(row.get("targets_lost")), _num(row.get("duplicates")),
         f"{_num(row.get('worst_window_arrived'))} ({_num(row.get('steady_worst_window'))})"
         f" / {_num(row.get('limit'))}",
         _num(row.get("calls_per_send", row.get("calls_per_request"))),
         _late(row)]
        for row in result.get("rows", [])
    ]  # fmt: skip
    note = (
        f"{_num(result.get('processes'))} processes × {_num(result.get('tasks'))} tasks, "
        f"{_num(result.get('seconds'))} s per API and limiter. `redis`: one quota shared "
        "through Redis; `one process`: every task in one process (what sharing should match); "
        "`local`: each process keeps the quota to itself (no sharing). In brackets: after the "
        f"first {_num(result.get('startup'))} s, when every process opens its connections at once."
    )
    headers = ["API", "limiter", "quota used", "429s per 1,000", "(after start-up)"]
    headers += ["targets lost", "recorded twice", "worst 1 s / limit", "Redis calls per send"]
    headers += ["late sends / writes (bookings moved)"]
    return [note, "", *_table(headers, rows), ""]


def _per_1000(count: object, total: object) -> float | None:
    if isinstance(count, int | float) and isinstance(total, int | float) and total:
        return 1000 * count / total
    return None


def generic(result: Json, suites: Json) -> list[str]:
    """Any other suite: its `rows` as a table, else its scalar figures as a list."""
    rows = result.get("rows")
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        headers = [key for key, value in rows[0].items() if not isinstance(value, list | dict)]
        return [*_table(headers, [[_num(row.get(key)) for key in headers] for row in rows]), ""]
    scalars = {k: v for k, v in result.items() if isinstance(v, int | float | str) and v != ""}
    return [f"- {key}: {_num(value)}" for key, value in scalars.items()] + [""]


def _lanes(result: Json, suites: Json) -> list[str]:
    """Interactive quota wait beside a saturating fan-out, lanes on and off; max_wait."""
    headers = ["processes", "api", "lanes", "wait p50 ms", "wait p99 ms", "fan-out targets/s",
               "quota used", "429s", "lost"]  # fmt: skip
    keys = ["processes", "api", "lanes", "wait_p50_ms", "wait_p99_ms", "fanout_per_s"]
    rows = [
        [_num(row[k]) for k in keys]
        + [f"{row['used_percent']:.1f}%", _num(row["rate_limited"]), _num(row["lost"])]
        for row in result["rows"]
    ]
    probe = result["max_wait"]
    note = (
        f"`max_wait=0.2` behind a queue of {probe['queue_requests']} requests: "
        f"{probe['refused']} of {probe['probes']} refused, answered in "
        f"{_num(probe['answer_p50_ms'])} ms (median), {_num(probe['answer_max_ms'])} ms at most."
    )
    return [*_table(headers, rows), "", note, ""]


def lanes_summary(result: Json) -> list[str]:
    """The README's lanes table: the interactive wait with lanes on and off, per quota and
    number of processes, and the quota used and 429s with lanes on."""
    rows = []
    for on in (row for row in result["rows"] if row["lanes"] == "on"):
        off = next(
            row
            for row in result["rows"]
            if row["lanes"] == "off"
            and (row["api"], row["processes"]) == (on["api"], on["processes"])
        )
        rows.append([
            f"{on['api']} {on['limit']}/s", "one" if on["processes"] == 1 else "two (Redis)",
            f"{_num(on['wait_p50_ms'])} / {_num(on['wait_p99_ms'])} ms",
            f"{_num(off['wait_p50_ms'])} / {_num(off['wait_p99_ms'])} ms",
            f"{on['used_percent']:.1f}%", _num(on["rate_limited"]),
        ])  # fmt: skip
    headers = ["quota", "processes", "interactive wait p50 / p99", "lanes off", "used", "429s"]
    return _table(headers, rows)


RENDERERS: dict[str, Callable[[Json, Json], list[str]]] = {
    "quota_fidelity": _quota,
    "official_sdk": _official,
    "overhead": _overhead,
    "request_building": _request_building,
    "fanout": _fanout,
    "shared_quota": _shared_quota,
    "lanes": _lanes,
}


def entries(result: Json, label: str = "") -> list[tuple[str, str, Json]]:
    """(client label, api, entry) for each nested dict with an `accepted_per_second` list."""
    found = []
    for key, value in result.items():
        if isinstance(value, dict) and "accepted_per_second" in value:
            found.append((value.get("client") or result.get("client") or label, key, value))
        elif isinstance(value, dict):
            found += entries(value, label=str(value.get("client", key)))
    return found
