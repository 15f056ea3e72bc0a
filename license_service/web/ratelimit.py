"""Token-bucket rate limits, per key (an API client, a client address on the public page or at the
token endpoint, a client id's failed authentications).

Per process: with N workers the effective limit is N times higher; a shared limiter (e.g. in the
database or a proxy) is the production answer when that matters. Memory is bounded: the least
recently seen keys are forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, *, spend: bool = True) -> float | None:
        """Take one token for ``key`` (with ``spend=False``, only look): None if there was one, else
        the seconds until there is."""
        now = self._clock()
        with self._lock:
            tokens, last = self._state.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            self._state[key] = (tokens - 1, now) if spend and tokens >= 1 else (tokens, now)
            while len(self._state) > self._max_keys:
                self._state.popitem(last=False)
        return None if tokens >= 1 else (1 - tokens) / self.rate
