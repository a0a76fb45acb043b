"""A fan-out process on a `RedisJournal`, for the kill / pause / restart tests.

    python tests/redis/journal_worker.py REDIS_URL NAME API_URL COUNT RATE LEASE_TTL

Sends one message to groups g0..g<COUNT-1> through the API at API_URL at RATE targets per
second, journaled in Redis as NAME with a lease of LEASE_TTL seconds (renewed every
quarter of it). App key and secret from RONGCLOUD_APP_KEY / RONGCLOUD_APP_SECRET. Prints
the report's summary; exit code 0 when complete, 1 when some target failed or is unknown,
3 when another run holds the journal, 4 when the run stopped (lost its lease).
"""

from __future__ import annotations

import sys

import anyio

from rongpub import FanoutAborted, JournalInUseError, RateLimits, RongCloud
from rongpub.redis import RedisJournal


async def main(redis_url: str, name: str, api_url: str, count: int, rate: int, ttl: float) -> int:
    journal = RedisJournal.from_url(redis_url, name, lease_ttl=ttl, renew_interval=ttl / 4)
    targets = [f"g{n}" for n in range(count)]
    try:
        async with RongCloud(base_urls=[api_url], rate_limits=RateLimits(group=rate)) as rc:
            report = await rc.fanout_group(
                targets,
                journal=journal,
                from_user_id="sys",
                object_name="RC:TxtMsg",
                content={"content": "hi"},
            )
    except JournalInUseError as exc:
        print(exc, flush=True)
        return 3
    except FanoutAborted as exc:
        print(f"stopped: {exc.__cause__!r}", flush=True)
        return 4
    finally:
        await journal.aclose()
    print(report.summary(), flush=True)
    return 0 if report.complete else 1


if __name__ == "__main__":
    url, name, api, count, rate, ttl = sys.argv[1:7]
    sys.exit(anyio.run(main, url, name, api, int(count), int(rate), float(ttl)))
