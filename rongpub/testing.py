"""Helpers for testing code that sends through rongpub, without waiting for real time.

`FakeTime` drives a limiter on virtual time, on asyncio and trio: pass its `clock` and
`sleep` to `SlidingWindowLimiter(clock=fake.clock, sleep=fake.sleep)`, start the senders with
`fake.spawn(task_group, func)` and let `await fake.run()` jump from timer to timer once every
task is asleep; nothing sleeps for real. `RedisServer` starts a throwaway `redis-server` on a
free loopback port (for `RedisLimiter`), and can kill, freeze or restart it. For a RongCloud
server, see `rongpub.emulator` and its pytest fixtures.
"""

from ._limit.virtual_time import FakeTime
from ._redis.server import RedisServer

__all__ = ["FakeTime", "RedisServer"]
