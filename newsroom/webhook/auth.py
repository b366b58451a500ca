"""Request signing for the CMS webhook: HMAC-SHA256 over timestamp + body, a replay window, replay memory.

A CMS signs every request with the shared secret (setting `webhook_secret`):

    X-Newsroom-Timestamp: 1764552000                 (Unix seconds, when the request was signed)
    X-Newsroom-Signature: sha256=<hex>               (HMAC-SHA256 of b"<timestamp>." + raw body)

Requests signed more than `WINDOW_S` away from the server's clock are refused, so a captured request
stops working after five minutes; within the window each signature is accepted once (`ReplayGuard`).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

TIMESTAMP_HEADER = "X-Newsroom-Timestamp"
SIGNATURE_HEADER = "X-Newsroom-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_SCHEME = "sha256="
WINDOW_S = 300


class AuthError(Exception):
    """The request is not signed correctly; the message says how to fix it (never echoes secrets)."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-Newsroom-Signature value for `body` signed at `timestamp`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return SIGNATURE_SCHEME + mac.hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers a client sends (used by tests, the benchmark and CMS integrators as a reference)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, body)}


def parse_headers(timestamp: str | None, signature: str | None) -> int:
    """Check the two headers are present and well-formed; returns the timestamp. Raises AuthError."""
    if not timestamp or not signature:
        raise AuthError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header: sign the request "
                        "(HMAC-SHA256 of '<timestamp>.' + body with the shared secret)")
    try:
        ts = int(timestamp)
    except ValueError:
        raise AuthError(f"{TIMESTAMP_HEADER} must be Unix seconds (an integer)") from None
    if not signature.startswith(SIGNATURE_SCHEME) or len(signature) != len(SIGNATURE_SCHEME) + 64:
        raise AuthError(f"{SIGNATURE_HEADER} must look like 'sha256=<64 hex digits>'")
    return ts


def check_fresh(ts: int, *, now: float | None = None, window_s: int = WINDOW_S) -> None:
    skew = (time.time() if now is None else now) - ts
    if abs(skew) > window_s:
        raise AuthError(f"timestamp is {abs(skew):.0f} s away from the server's clock (limit {window_s} s): "
                        "sign each request when you send it and keep clocks in sync (NTP)")


def start_mac(secret: str, ts: int) -> hmac.HMAC:
    """An HMAC to feed a streamed body into (large uploads are never held in memory)."""
    return hmac.new(secret.encode("utf-8"), f"{ts}.".encode("ascii"), hashlib.sha256)


def check_mac(mac: hmac.HMAC, signature: str) -> None:
    # Constant-time comparison: timing says nothing about the expected value.
    if not hmac.compare_digest((SIGNATURE_SCHEME + mac.hexdigest()).encode("ascii"),
                               signature.encode("ascii", "replace")):
        raise AuthError("signature does not match: sign '<timestamp>.' + the exact body bytes with the shared secret")


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, *,
           now: float | None = None, window_s: int = WINDOW_S) -> int:
    """Check a request's signature and freshness; returns the timestamp. Raises AuthError."""
    ts = parse_headers(timestamp, signature)
    mac = start_mac(secret, ts)
    mac.update(body)
    check_mac(mac, signature or "")
    check_fresh(ts, now=now, window_s=window_s)
    return ts


@dataclass(frozen=True, slots=True)
class SeenRequest:
    expires_at: float
    flow_run_id: str | None


class ReplayGuard:
    """Remembers the signatures accepted within the window, so each signed request is used once.

    Per process: behind several webhook replicas, the Idempotency-Key (enforced by the Prefect server)
    still guarantees one run per key; this guard only adds the "each signature once" rule.
    """

    def __init__(self, window_s: int = WINDOW_S, max_entries: int = 100_000) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._seen: dict[str, SeenRequest] = {}
        self._lock = threading.Lock()

    def claim(self, signature: str, *, now: float | None = None) -> SeenRequest | None:
        """Record `signature`; returns None the first time, else what the first request got."""
        now = time.time() if now is None else now
        with self._lock:
            if len(self._seen) >= self.max_entries:
                self._seen = {k: v for k, v in self._seen.items() if v.expires_at > now}
            seen = self._seen.get(signature)
            if seen is not None and seen.expires_at > now:
                return seen
            # Twice the window: a request signed up to WINDOW_S in the future stays remembered long enough.
            self._seen[signature] = SeenRequest(now + 2 * self.window_s, None)
            return None

    def settle(self, signature: str, flow_run_id: str | None) -> None:
        """Attach the run a claimed request started (so a replay can point to it)."""
        with self._lock:
            seen = self._seen.get(signature)
            if seen is not None:
                self._seen[signature] = SeenRequest(seen.expires_at, flow_run_id)

    def release(self, signature: str) -> None:
        """Forget a claimed request that failed before doing anything (the client may retry it as is)."""
        with self._lock:
            self._seen.pop(signature, None)
