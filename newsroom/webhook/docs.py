"""What the OpenAPI schema says about the parts of a request the handlers read themselves.

The handlers take the raw `Request` (the signature is checked before the body is read, so FastAPI must not
parse it first); the signature headers, the Idempotency-Key, the bearer token, the upload's name and the
bodies are therefore declared here and attached to each route as `openapi_extra`, with the error answers
every route may give. `newsroom.webhook.app` adds the request bodies' models to the schema's components.
"""

from __future__ import annotations

from typing import Any

from newsroom.webhook import auth
from newsroom.webhook.checks import IDEMPOTENCY_RE
from newsroom.webhook.schemas import MAX_FILENAME_BYTES, ErrorBody

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Malformed request (JSON, headers), or a body that does not match its signed sha256",
        401: "Missing, wrong or stale signature (refused before the body is read; the connection is closed)",
        404: "No such story run",
        409: "Replayed request, or an Idempotency-Key reused with different parameters",
        411: "A chunked body: send Content-Length (the signature covers it)",
        413: "Body over the size limit",
        422: "Invalid parameters, file name or source object",
        429: "Too many uploads from this client at once: retry after Retry-After seconds",
        503: "Prefect, the object store or the webhook's disk is unavailable or too slow: retry after Retry-After seconds",
    }.items()
}
SIGNED = [
    {"name": auth.TIMESTAMP_HEADER, "in": "header", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
     "description": "Unix seconds when the request was signed (a 5-minute window)."},
    {"name": auth.CONTENT_SHA256_HEADER, "in": "header", "required": True,
     "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
     "description": "Hex sha256 of the body as sent (of no bytes for a GET: e3b0c442...b855)."},
    {"name": auth.SIGNATURE_HEADER, "in": "header", "required": True,
     "schema": {"type": "string", "pattern": "^v2=[0-9a-f]{64}$"},
     "description": "v2=<hex HMAC-SHA256 with the shared secret of the lines NEWSROOM-HMAC-SHA256-V2, method, "
                    "path, canonical query, timestamp, Content-Length and content sha256, joined by newlines>."},
]
IDEMPOTENCY = {"name": auth.IDEMPOTENCY_HEADER, "in": "header", "required": True,
               "schema": {"type": "string", "pattern": IDEMPOTENCY_RE.pattern},
               "description": "Your id for this request; the same key never starts a second run."}
SIGNED_ONCE = [*SIGNED, IDEMPOTENCY]  # the routes that start a run
BEARER = {"name": "Authorization", "in": "header", "required": True, "schema": {"type": "string"},
          "description": "Bearer <storage_events_token> (MinIO's notify_webhook auth_token)."}
FILENAME = {"name": "filename", "in": "query", "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_FILENAME_BYTES},
            "description": "The file's own name with its extension (e.g. Mayor's speech (final).mp4). "
                           "Stored NFC-normalised with characters other than letters, digits, _ and - "
                           "replaced by _; the name as sent is kept in the object's metadata."}
BINARY_BODY = {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}


def json_body(model: type) -> dict[str, Any]:
    """A JSON request body of `model` (a pydantic model listed in the schema's components)."""
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
