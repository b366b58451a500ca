"""Request signing for the CMS webhook (scheme v2): HMAC-SHA256 over the canonical request, checked
before the first body byte is read; the body is then held to the hash the client signed.

A CMS signs every request with the shared secret (setting `webhook_secret`):

    X-Newsroom-Timestamp: 1764552000                 (Unix seconds, when the request was signed)
    X-Newsroom-Content-SHA256: <hex sha256 of the body; e3b0c442...b855 for no body>
    X-Newsroom-Signature: v2=<hex HMAC-SHA256 of the string to sign>

The string to sign is seven lines joined by "\\n" (no trailing newline):

    NEWSROOM-HMAC-SHA256-V2
    <METHOD>                                         (upper case: POST, GET)
    <path>                                           (percent-decoded: /v1/uploads)
    <canonical query>                                (see `canonical_query`; empty when there is none)
    <timestamp>                                      (the X-Newsroom-Timestamp value)
    <Content-Length>                                 (decimal; 0 without a body)
    <content sha256>                                 (the X-Newsroom-Content-SHA256 value, lower-case hex)

Everything the server acts on before it reads the body is signed, so a bad signature is refused before
a byte of it is read, and a signature made for one method, path or query is never valid for another.
Requests signed more than `WINDOW_S` away from the server's clock are refused, so a captured request
stops working after five minutes; within the window each POST signature is accepted once (`ReplayGuard`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

TIMESTAMP_HEADER = "X-Newsroom-Timestamp"
SIGNATURE_HEADER = "X-Newsroom-Signature"
CONTENT_SHA256_HEADER = "X-Newsroom-Content-SHA256"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_SCHEME = "v2="
ALGORITHM = "NEWSROOM-HMAC-SHA256-V2"
WINDOW_S = 300
MAX_QUERY_FIELDS = 32
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
_UNRESERVED = "-_.~"  # RFC 3986: the only characters the canonical query leaves unencoded (with ALPHA / DIGIT)


class AuthError(Exception):
    """The request is not signed correctly; the message says how to fix it (never echoes secrets)."""


class ContentMismatchError(AuthError):
    """The body that arrived is not the one the client signed (X-Newsroom-Content-SHA256, Content-Length)."""


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a verified signature vouches for: the body still has to match `content_sha256`."""

    timestamp: int
    signature: str
    content_length: int
    content_sha256: str


def canonical_query(query: str | Mapping[str, str] | Iterable[tuple[str, str]] | None) -> str:
    """The query as signed: name=value pairs, each side UTF-8 percent-encoded (everything but A-Z a-z 0-9
    - _ . ~, so a space is %20), sorted by encoded name then value, joined with '&'.

    `query` is the raw query string as received ('filename=clip%202.mp4'), or the client's own
    parameters (a mapping or pairs of strings), which give the same result."""
    if not query:
        pairs: list[tuple[str, str]] = []
    elif isinstance(query, str):
        try:
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=MAX_QUERY_FIELDS)
        except UnicodeDecodeError:
            raise AuthError("the query string is not UTF-8 once percent-decoded") from None
        except ValueError:
            raise AuthError(f"the query string has more than {MAX_QUERY_FIELDS} fields") from None
    else:
        pairs = list(query.items() if isinstance(query, Mapping) else query)
    encoded = sorted((quote(str(k), safe=_UNRESERVED), quote(str(v), safe=_UNRESERVED)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def string_to_sign(method: str, path: str, query: str, timestamp: int | str, content_length: int,
                   content_sha256: str) -> bytes:
    """The exact bytes the v2 signature is the HMAC of (`query` already canonical)."""
    lines = (ALGORITHM, method.upper(), path, query, str(timestamp), str(content_length), content_sha256)
    return "\n".join(lines).encode("utf-8")


def sign(secret: str, method: str, path: str, *, query: str | Mapping[str, str] | None = None,
         timestamp: int | str, content_length: int, content_sha256: str) -> str:
    """The X-Newsroom-Signature value (for a body hashed elsewhere, e.g. a large file read in pieces)."""
    message = string_to_sign(method, path, canonical_query(query), timestamp, content_length, content_sha256)
    return SIGNATURE_SCHEME + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, method: str, path: str, body: bytes = b"", *,
                   query: str | Mapping[str, str] | None = None, timestamp: int | None = None) -> dict[str, str]:
    """Headers a client sends with `body` (the reference client: tests, the benchmark, CMS integrators).

    Send the body as Content-Length bytes (not chunked) and the query exactly as signed here."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hashlib.sha256(body).hexdigest()
    signature = sign(secret, method, path, query=query, timestamp=ts, content_length=len(body), content_sha256=digest)
    return {TIMESTAMP_HEADER: str(ts), CONTENT_SHA256_HEADER: digest, SIGNATURE_HEADER: signature}


def verify_request(secret: str, method: str, path: str, query: str, headers: Mapping[str, str], *,
                   now: float | None = None, window_s: int = WINDOW_S) -> SignedRequest:
    """Check a request's signature and freshness from its request line and headers alone (the body is not
    needed: it is held to `content_sha256` while it is read). Raises AuthError."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp, signature = lower.get(TIMESTAMP_HEADER.lower()), lower.get(SIGNATURE_HEADER.lower())
    content_sha256 = lower.get(CONTENT_SHA256_HEADER.lower())
    if not timestamp or not signature or not content_sha256:
        raise AuthError(f"missing {TIMESTAMP_HEADER}, {CONTENT_SHA256_HEADER} or {SIGNATURE_HEADER} header: sign "
                        "the request (scheme v2: HMAC-SHA256 of the canonical request with the shared secret)")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthError(f"{TIMESTAMP_HEADER} must be Unix seconds (an integer)")
    if not _HEX64_RE.match(content_sha256):
        raise AuthError(f"{CONTENT_SHA256_HEADER} must be the body's sha256 as 64 lower-case hex digits")
    if not signature.startswith(SIGNATURE_SCHEME) or len(signature) != len(SIGNATURE_SCHEME) + 64:
        hint = " (the v1 'sha256=' scheme over the body is retired)" if signature.startswith("sha256=") else ""
        raise AuthError(f"{SIGNATURE_HEADER} must look like 'v2=<64 hex digits>'{hint}")
    declared = lower.get("content-length", "0")
    if not declared.isascii() or not declared.isdigit():
        raise AuthError("Content-Length must be a decimal number of bytes")
    content_length = int(declared)
    message = string_to_sign(method, path, canonical_query(query), timestamp, content_length, content_sha256)
    expected = SIGNATURE_SCHEME + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    # Constant-time comparison: timing says nothing about the expected value.
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace")):
        raise AuthError("signature does not match: sign method, path, canonical query, timestamp, Content-Length "
                        f"and {CONTENT_SHA256_HEADER} of this exact request with the shared secret (scheme v2)")
    ts = int(timestamp)
    skew = (time.time() if now is None else now) - ts
    if abs(skew) > window_s:
        raise AuthError(f"timestamp is {abs(skew):.0f} s away from the server's clock (limit {window_s} s): "
                        "sign each request when you send it and keep clocks in sync (NTP)")
    return SignedRequest(ts, signature, content_length, content_sha256)


def check_content(signed: SignedRequest, size: int, sha256_hex: str) -> None:
    """The body that arrived (its size and sha256) is the one that was signed. Raises ContentMismatchError."""
    if size != signed.content_length or not hmac.compare_digest(sha256_hex, signed.content_sha256):
        raise ContentMismatchError(f"the body ({size} bytes) does not match the signed {CONTENT_SHA256_HEADER} and "
                                   "Content-Length: hash the exact bytes you send, and resend")


@dataclass(frozen=True, slots=True)
class SeenRequest:
    expires_at: float
    flow_run_id: str | None


REPLAY_PREFIX = "webhook/replay/"  # the replay memory in the object store, shared by every webhook replica


class ReplayGuard:
    """Remembers the signatures accepted within the window, so each signed request is used once.

    In memory, and with `store` also in the object store (`webhook/replay/<sha256 of the signature>.json`), so
    a restarted webhook, or another replica behind the same bucket, still refuses a replay within the window.
    The Idempotency-Key (enforced by the Prefect server) keeps one run per key whatever happens here; two
    replicas receiving the same signed request in the same instant may both accept it (the store has no
    conditional write everywhere). Old markers are never read again once expired; a bucket lifecycle rule on
    `webhook/replay/` (a day) removes them.
    """

    def __init__(self, window_s: int = WINDOW_S, max_entries: int = 100_000, *, store=None,
                 timeout_s: float = 10.0, unavailable=None) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._seen: dict[str, SeenRequest] = {}
        self._released: set[str] = set()  # released here: their shared marker may not be deleted yet
        self._lock = threading.Lock()
        self.store = store
        self.timeout_s = timeout_s
        self._unavailable = unavailable or (lambda message: RuntimeError(message))

    def claim(self, signature: str, *, now: float | None = None) -> SeenRequest | None:
        """Record `signature` in memory; returns None the first time, else what the first request got."""
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

    async def aclaim(self, signature: str) -> SeenRequest | None:
        """`claim`, then the shared memory (in a thread, at most `timeout_s`; a store that does not answer is the
        `unavailable` error, a 503, with nothing claimed)."""
        import asyncio

        from starlette.concurrency import run_in_threadpool

        seen = self.claim(signature)
        if seen is not None or self.store is None:
            return seen
        with self._lock:  # a retry of a request this replica released: the marker left is its own, not a replay
            retried = signature in self._released
            self._released.discard(signature)
        try:
            seen = await asyncio.wait_for(run_in_threadpool(self._shared_claim, signature, retried), self.timeout_s)
        except Exception as exc:  # a stalled or unreachable store
            self.release(signature, shared=False)
            raise self._unavailable(f"the object store did not answer within {self.timeout_s:.0f} s (the replay memory: "
                                    f"{type(exc).__name__}): retry in a few seconds") from None
        if seen is not None:
            with self._lock:
                self._seen[signature] = seen
        return seen

    def _marker(self, signature: str) -> str:
        return REPLAY_PREFIX + hashlib.sha256(signature.encode()).hexdigest() + ".json"

    def _shared_claim(self, signature: str, retried: bool = False) -> SeenRequest | None:
        from newsroom.errors import ObjectNotFoundError

        now = time.time()
        key = self._marker(signature)
        try:
            found = None if retried else self.store.get_json(key)
            if found is not None and float(found.get("expires_at", 0)) > now:
                return SeenRequest(float(found["expires_at"]), found.get("flow_run_id"))
        except ObjectNotFoundError:
            pass
        self.store.put_json(key, {"expires_at": now + 2 * self.window_s, "flow_run_id": None})
        return None

    def _shared(self, fn, *args) -> None:
        """A shared-memory update after the answer is decided: in the background, logged if it fails."""
        if self.store is None:
            return

        def run() -> None:
            try:
                fn(*args)
            except Exception as exc:
                import logging

                logging.getLogger("newsroom.webhook").warning("replay memory not updated (%s: %s)",
                                                              type(exc).__name__, exc)

        threading.Thread(target=run, daemon=True, name="replay-memory").start()

    def settle(self, signature: str, flow_run_id: str | None) -> None:
        """Attach the run a claimed request started (so a replay can point to it)."""
        with self._lock:
            seen = self._seen.get(signature)
            if seen is not None:
                self._seen[signature] = SeenRequest(seen.expires_at, flow_run_id)
        if seen is not None:
            self._shared(self.store.put_json if self.store else None, self._marker(signature),
                         {"expires_at": seen.expires_at, "flow_run_id": flow_run_id})

    def release(self, signature: str, *, shared: bool = True) -> None:
        """Forget a claimed request that failed before doing anything (the client may retry it as is)."""
        with self._lock:
            self._seen.pop(signature, None)
            if shared and self.store is not None:
                if len(self._released) >= self.max_entries:
                    self._released.clear()
                self._released.add(signature)
        if shared and self.store is not None:
            self._shared(self.store.delete, self._marker(signature))
