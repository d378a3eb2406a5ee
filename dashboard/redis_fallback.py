"""Redis is optional (SPEC §5): when it doesn't answer, the app carries on without it."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

log = logging.getLogger(__name__)

# A Redis on the same network answers in a millisecond; half a second means it is gone, and
# a callback waiting longer than that would be slower than computing without the cache.
SOCKET_TIMEOUTS = {"socket_connect_timeout": "0.5", "socket_timeout": "0.5"}
# After a failure, don't try Redis again for this long, so an outage costs one timeout per
# worker every few seconds rather than one per cache lookup.
RETRY_AFTER_SECONDS = 5.0


def with_timeouts(url: str) -> str:
    """The Redis URL with short socket timeouts added (unless it sets its own)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for name, value in SOCKET_TIMEOUTS.items():
        query.setdefault(name, value)
    return urlunsplit(parts._replace(query=urlencode(query)))


class ResilientCache:
    """A cache whose errors count as misses: while its store is down, results are computed
    (and not kept), and the store is used again once it answers."""

    def __init__(self, cache: Any):
        self.cache = cache
        self.down_until: float | None = None  # None while the store answers

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.down_until is not None and time.monotonic() < self.down_until:
            return None
        try:
            result = getattr(self.cache, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any store error means "no cache now"
            if self.down_until is None:
                log.warning("cache store unreachable, computing without it: %s", exc)
            self.down_until = time.monotonic() + RETRY_AFTER_SECONDS
            return None
        if self.down_until is not None:
            log.warning("cache store answers again")
            self.down_until = None
        return result

    def get(self, key: str) -> Any:
        return self._call("get", key)

    def set(self, key: str, value: Any, timeout: int | None = None) -> None:
        self._call("set", key, value, timeout=timeout)

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        """Set the key only if it is not there (atomic in Redis): True when this call set it;
        False when it was there, or the store does not answer."""
        return bool(self._call("add", key, value, timeout=timeout))

    def clear(self) -> None:
        self._call("clear")
