"""Failed sign-in throttling: a sliding window of attempts per key, counted atomically.

An attempt takes its place in the window before the password is checked, and gives it back
if the sign-in succeeds. So parallel guesses can't all pass a check made before any of them
is counted, only failures stay counted, and each one leaves the window exactly `window`
seconds after it was made (no burst at the turn of a fixed window).

With Redis (several workers), one Lua script checks every key and records the attempt in all
of them, so two workers never both take the last place. Without Redis, or while it doesn't
answer, each process counts on its own under a lock (SPEC §5: its loss degrades the app).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence

import redis

from dashboard import redis_fallback

log = logging.getLogger(__name__)
MAX_LOCAL_KEYS = 10_000

# Returns 0 and records the attempt in every key when each has room; else the (1-based)
# number of the first full key, recording nothing.
RESERVE = """
local now, window, limit, token = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, token)
  redis.call('EXPIRE', key, math.ceil(window))
end
return 0
"""


class SignInThrottle:
    """At most `limit` counted attempts per key in any `window` seconds."""

    def __init__(
        self,
        limit: int,
        window: float,
        redis_url: str | None = None,
        clock: Callable[[], float] = time.time,
        prefix: str = "signin:",
    ):
        self.limit, self.window, self.clock, self.prefix = limit, window, clock, prefix
        self.lock = threading.Lock()
        self.local: dict[str, deque[tuple[float, str]]] = {}
        self.redis = (
            redis.Redis.from_url(redis_fallback.with_timeouts(redis_url)) if redis_url else None
        )
        self.script = self.redis.register_script(RESERVE) if self.redis else None
        self.down_until: float | None = None

    def reserve(self, keys: Sequence[str]) -> tuple[str | None, str | None]:
        """(a token to release on success, None) when every key has room; else (None, the
        first full key). Nothing is recorded when a key is full."""
        token, now = uuid.uuid4().hex, self.clock()
        names = [self.prefix + k for k in keys]
        full = self._redis(
            lambda: self.script(names, [now, self.window, self.limit, token]), fallback=None
        )
        if full is None:
            full = self._local_reserve(names, now, token)
        return (token, None) if full == 0 else (None, keys[int(full) - 1])

    def release(self, keys: Sequence[str], token: str) -> None:
        """Give back the attempt `token` took (the sign-in succeeded)."""
        names = [self.prefix + k for k in keys]
        self._redis(lambda: [self.redis.zrem(name, token) for name in names], fallback=None)
        with self.lock:
            for name in names:
                entries = self.local.get(name)
                if entries:
                    self.local[name] = deque(e for e in entries if e[1] != token)

    def _local_reserve(self, names: list[str], now: float, token: str) -> int:
        with self.lock:
            if len(self.local) > MAX_LOCAL_KEYS:  # guesses at many names: drop the expired
                self.local = {
                    k: v for k, v in self.local.items() if v and v[-1][0] > now - self.window
                }
            windows = [self.local.setdefault(name, deque()) for name in names]
            for i, entries in enumerate(windows, start=1):
                while entries and entries[0][0] <= now - self.window:
                    entries.popleft()
                if len(entries) >= self.limit:
                    return i
            for entries in windows:
                entries.append((now, token))
            return 0

    def _redis(self, call: Callable, fallback):
        """The call's result, or `fallback` when there is no Redis or it doesn't answer."""
        if self.redis is None:
            return fallback
        if self.down_until is not None and time.monotonic() < self.down_until:
            return fallback
        try:
            result = call()
        except redis.RedisError as exc:
            if self.down_until is None:
                log.warning("throttle store unreachable, counting in this process: %s", exc)
            self.down_until = time.monotonic() + redis_fallback.RETRY_AFTER_SECONDS
            return fallback
        self.down_until = None
        return result
