"""The team password: compared in constant time, with failed guesses slowed down per client address and per
browser session, and a global limit only against a flood. The Studio holds one guard per process, so nothing a
browser sends (a cache clear, a new session) resets it."""
from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

FREE_ATTEMPTS = 5  # wrong guesses a client gets before it has to wait
FIRST_WAIT_S = 30  # then 30, 60, 120, ... seconds
MAX_WAIT_S = 900
FLOOD_WINDOW_S, FLOOD_FAILURES, FLOOD_WAIT_S = 60, 100, 30  # many addresses at once: everyone waits a little
KEYS_KEPT = 10_000  # clients remembered; the oldest are forgotten first


@dataclass(frozen=True)
class Verdict:
    """The answer to one attempt: let in, wrong, or wait (with how long)."""

    allowed: bool
    wait_s: int = 0

    @property
    def waiting(self) -> bool:
        return self.wait_s > 0


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class AccessGuard:
    """Checks passwords and remembers failures. client is the caller's address (None where it cannot be known, as
    behind a tunnel that forwards none); session is the browser session."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._recent_failures: deque[float] = deque()
        self._flood_until = 0.0

    def wait_s(self, client: str | None, session: str) -> int:
        """Seconds this client and session must wait before their next attempt (0: go ahead)."""
        with self._lock:
            return self._wait(self._keys(client, session))

    def attempt(self, entered: str, password: str, client: str | None, session: str) -> Verdict:
        """Check one attempt; a waiting client is refused without the password being compared."""
        keys = self._keys(client, session)
        with self._lock:
            wait = self._wait(keys)
            if wait:
                return Verdict(False, wait)
        if hmac.compare_digest(entered.encode("utf-8"), password.encode("utf-8")):
            with self._lock:
                for key in keys:
                    self._records.pop(key, None)
            return Verdict(True)
        with self._lock:
            now = self._clock()
            for key in keys:
                record = self._records.pop(key, None) or _Record()
                record.failures += 1
                if record.failures >= FREE_ATTEMPTS:
                    record.locked_until = now + min(FIRST_WAIT_S * 2 ** (record.failures - FREE_ATTEMPTS),
                                                    MAX_WAIT_S)
                self._records[key] = record  # most recent last
            while len(self._records) > KEYS_KEPT:
                self._records.popitem(last=False)
            self._recent_failures.append(now)
            while self._recent_failures and now - self._recent_failures[0] > FLOOD_WINDOW_S:
                self._recent_failures.popleft()
            if len(self._recent_failures) >= FLOOD_FAILURES:
                self._flood_until = now + FLOOD_WAIT_S
        return Verdict(False)

    def _keys(self, client: str | None, session: str) -> list[str]:
        return [f"session:{session}"] + ([f"client:{client}"] if client else [])

    def _wait(self, keys: list[str]) -> int:
        now = self._clock()
        until = max([self._flood_until] + [self._records[k].locked_until for k in keys if k in self._records])
        return max(0, int(until - now + 0.999))
