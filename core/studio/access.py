"""The team password: compared in constant time, with failed guesses slowed down per client address, per browser
session and per known device, and a global budget against a flood that never touches a known device. The Studio
holds one guard per process, so nothing a browser sends (a cache clear, a new session) resets it. After a sign-in
the browser keeps a signed, expiring token instead, so a reload does not ask again, and a longer-lived device token,
so a flood of guesses never locks a teammate's browser out.

Guesses an attacker gets, by how the guard knows addresses (see streamlit_app/gate.py client_address):
- an address per caller (localtunnel's and cloudflared's proxies; the peer where nothing forwards): 5 free, then
  waits of 30 s doubling to 15 min: about 105 a day per address;
- no address (an unknown proxy, or a tunnel that forwards none): every caller shares one, the same about 105 a day;
- many addresses at once: the shared budget, FLOOD_BURST then one every FLOOD_REFILL_S: about 8,700 a day in all.
A known device (a browser that signed in before) is counted on its own and never waits for the others."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.files import write_json
from core.messages import Message

FREE_ATTEMPTS = 5  # wrong guesses a client gets before it has to wait
FIRST_WAIT_S = 30  # then 30, 60, 120, ... seconds
MAX_WAIT_S = 900
FORGET_AFTER_S = 24 * 3600  # a key's failures are forgotten a day after its last one
FLOOD_BURST, FLOOD_REFILL_S = 100, 10  # the budget of wrong guesses shared by every caller not on a known device
KEYS_KEPT = 10_000  # clients remembered; the oldest are forgotten first
UNKNOWN_CLIENT = "client:unknown"  # every caller whose address cannot be known
MIN_PASSWORD = 10
# zxcvbn's estimate of the guesses an attacker who knows how people choose passwords needs: below 10^8 (its score
# 3) the throttle's few hundred guesses a day would still find it within a few years of a tunnel left up
MIN_GUESSES_LOG10 = 8
APP_WORDS = ["studio", "estudio", "estúdio", "senha", "password", "contraseña", "equipe", "team", "marketing"]


def password_problem(password: str) -> Message | None:
    """Why a team password is not good enough for a studio others can reach, or None: blank, under MIN_PASSWORD
    characters, on zxcvbn's lists of common passwords (30,000 leaked ones, with their l33t and reversed forms),
    or guessable in under 10^MIN_GUESSES_LOG10 tries."""
    if not password.strip():
        return Message("password_blank")
    if len(password) < MIN_PASSWORD:
        return Message("password_short", {"length": len(password), "limit": MIN_PASSWORD})
    from zxcvbn import zxcvbn  # its dictionaries load on first use: only where a password is checked
    estimate = zxcvbn(password[:100], user_inputs=APP_WORDS)
    if all(match.get("dictionary_name") == "passwords" for match in estimate["sequence"]):
        return Message("password_common")
    if estimate["guesses_log10"] < MIN_GUESSES_LOG10:
        return Message("password_guessable", {"power": int(estimate["guesses_log10"])})
    return None


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
    last_failure: float = 0.0


class AccessGuard:
    """Checks passwords and remembers failures. client is the caller's address (None where it cannot be known:
    all such callers share one count); session is the browser session; device is the id of a valid device token
    (a browser that signed in before), whose attempts are counted on their own and spend no shared budget."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._budget = float(FLOOD_BURST)
        self._budget_at = clock()

    def wait_s(self, client: str | None, session: str, device: str | None = None) -> int:
        """Seconds this caller must wait before their next attempt (0: go ahead)."""
        with self._lock:
            return self._wait(self._keys(client, session, device), device is None)

    def attempt(self, entered: str, password: str, client: str | None, session: str,
                device: str | None = None) -> Verdict:
        """Check one attempt; a waiting caller is refused without the password being compared."""
        keys = self._keys(client, session, device)
        with self._lock:
            wait = self._wait(keys, device is None)
            if wait:
                return Verdict(False, wait)
        if hmac.compare_digest(entered.encode("utf-8"), password.encode("utf-8")):
            with self._lock:
                for key in keys:
                    if key != UNKNOWN_CLIENT:  # one caller's success must not clear the others' count
                        self._records.pop(key, None)
            return Verdict(True)
        with self._lock:
            now = self._clock()
            for key in keys:
                record = self._records.pop(key, None) or _Record()
                if now - record.last_failure > FORGET_AFTER_S:
                    record = _Record()
                record.failures += 1
                record.last_failure = now
                if record.failures >= FREE_ATTEMPTS:
                    record.locked_until = now + min(FIRST_WAIT_S * 2 ** (record.failures - FREE_ATTEMPTS),
                                                    MAX_WAIT_S)
                self._records[key] = record  # most recent last
            while len(self._records) > KEYS_KEPT:
                self._records.popitem(last=False)
            if device is None:
                self._refill(now)
                self._budget -= 1
        return Verdict(False)

    def _keys(self, client: str | None, session: str, device: str | None) -> list[str]:
        if device is not None:  # a known browser: its own count, whatever address it comes from
            return [f"session:{session}", f"device:{device}"]
        return [f"session:{session}", f"client:{client}" if client else UNKNOWN_CLIENT]

    def _refill(self, now: float) -> None:
        self._budget = min(float(FLOOD_BURST), self._budget + (now - self._budget_at) / FLOOD_REFILL_S)
        self._budget_at = now

    def _wait(self, keys: list[str], shares_budget: bool) -> int:
        now = self._clock()
        until = max([0.0] + [self._records[k].locked_until for k in keys if k in self._records])
        if shares_budget:
            self._refill(now)
            if self._budget < 1:
                until = max(until, now + (1 - self._budget) * FLOOD_REFILL_S)
        return max(0, int(until - now + 0.999))


LOGIN_TTL_S = 12 * 3600  # a working day: a reload or a reconnecting tunnel does not ask again within it
DEVICE_TTL_S = 90 * 24 * 3600  # a browser that signed in is known this long, past signing out
KEY_FILE = "access.key"
REVOKED_FILE = "revoked-logins.json"


@dataclass(frozen=True)
class Login:
    """Who a valid sign-in token speaks for, and which token it is (for signing out)."""

    name: str
    token_id: str
    expires_at: float


class LoginTokens:
    """Signed, expiring sign-in tokens that a browser keeps instead of the password.

    A token carries the teammate's name, an id and its expiry, signed with HMAC-SHA256 under a key derived from
    a random secret kept in the data folder and from the password itself: changing the password signs everyone
    out, and signing out revokes the one token (its id is kept, until it would have expired anyway)."""

    def __init__(self, folder: Path, clock: Callable[[], float] = time.time):
        self.folder = Path(folder)
        self._clock = clock
        self._lock = threading.Lock()

    def issue(self, name: str, password: str | None, kind: str = "login") -> str:
        """A new token for name: a sign-in, valid for LOGIN_TTL_S, or a device's ("device"), valid for
        DEVICE_TTL_S, which lets no one in by itself and only exempts its browser from the others' flood."""
        ttl = DEVICE_TTL_S if kind == "device" else LOGIN_TTL_S
        payload = {"name": name, "id": secrets.token_hex(12), "exp": int(self._clock() + ttl), "kind": kind}
        body = base64.urlsafe_b64encode(json.dumps(payload, ensure_ascii=False).encode("utf-8")).decode("ascii")
        return f"{body}.{self._signature(body, password)}"

    def check(self, token: str | None, password: str | None, kind: str = "login") -> Login | None:
        """Who the token speaks for, or None when it is malformed, forged, signed for another password, of another
        kind, expired or revoked. Never raises on what a browser sends."""
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 2000 or not token.isascii():
            return None
        body, signature = token.split(".")
        if not hmac.compare_digest(signature, self._signature(body, password)):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body.encode("ascii")))
            login = Login(str(payload["name"]), str(payload["id"]), float(payload["exp"]))
            if payload.get("kind", "login") != kind:
                return None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if login.expires_at <= self._clock() or login.token_id in self._revoked():
            return None
        return login

    def revoke(self, login: Login) -> None:
        """Sign this token out for good, on every server sharing the data folder."""
        with self._lock:
            now = self._clock()
            kept = {token_id: exp for token_id, exp in self._revoked().items() if exp > now}
            kept[login.token_id] = login.expires_at
            write_json(kept, self.folder / REVOKED_FILE)

    def _revoked(self) -> dict[str, float]:
        try:
            data = json.loads((self.folder / REVOKED_FILE).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _signature(self, body: str, password: str | None) -> str:
        key = hmac.new(self._secret(), (password or "").encode("utf-8"), hashlib.sha256).digest()
        return hmac.new(key, body.encode("ascii", "replace"), hashlib.sha256).hexdigest()

    def _secret(self) -> bytes:
        path = self.folder / KEY_FILE
        with self._lock:
            try:
                secret = path.read_bytes()
                if len(secret) >= 32:
                    return secret
            except OSError:
                pass
            self.folder.mkdir(parents=True, exist_ok=True)
            fresh = secrets.token_bytes(32)
            try:  # the first process to write it wins; the others read its key
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(fresh)
                    handle.flush()
                    os.fsync(handle.fileno())
                return fresh
            except FileExistsError:
                return path.read_bytes()
