"""Object keys: `stories/<story_id>/<stage>/<name>`, validated so nothing escapes its prefix."""

from __future__ import annotations

import re
import unicodedata

from newsroom.errors import InvalidKeyError

STORY_PREFIX = "stories"
STORY_ID_HEX_CHARS = 20  # 80 bits of the source's sha256: stable, collision-free in practice
MAX_KEY_BYTES = 1024
_STORY_ID_RE = re.compile(rf"^[0-9a-f]{{{STORY_ID_HEX_CHARS}}}$")
_STAGE_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
TMP_SEGMENT_PREFIX = ".tmp-"  # reserved for the stores' half-written files
MAX_NAME_BYTES = 200


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a safe relative object key, else raise InvalidKeyError.

    Safe means it cannot escape its prefix or the store: relative, '/'-separated, no empty, '.' or '..'
    segments, no backslashes, no NUL, at most 1024 UTF-8 bytes. Any other characters are allowed, so real
    file names (apostrophes, '#', '%', accents in NFC or NFD, CJK) can always be read, moved and deleted;
    keys newsroom *creates* are also cleaned (`clean_name`) or come from a story's layout (newsroom/layout.py).
    """
    if not isinstance(key, str) or not key:
        raise InvalidKeyError("object key must be a non-empty string")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKeyError(f"object key {key!r} is not valid Unicode text") from None
    if size > MAX_KEY_BYTES:
        raise InvalidKeyError(f"object key is longer than {MAX_KEY_BYTES} bytes")
    if "\x00" in key:
        raise InvalidKeyError(f"object key {key!r} contains a NUL character")
    if key.startswith("/") or "\\" in key or re.match(r"^[A-Za-z]:", key):
        raise InvalidKeyError(f"object key {key!r} must be relative and use '/' separators")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(f"object key {key!r} has an empty, '.' or '..' segment")
        if segment.startswith(TMP_SEGMENT_PREFIX):
            raise InvalidKeyError(f"object key {key!r} uses the reserved prefix {TMP_SEGMENT_PREFIX!r}")
    return key


def validate_new_key(key: str) -> str:
    """`validate_key` for a key about to be written: control characters are refused too (existing objects
    with such names can still be read, moved and deleted)."""
    validate_key(key)
    if _CONTROL_RE.search(key):
        raise InvalidKeyError(f"object key {key!r} contains control characters")
    return key


def _unusable(ch: str) -> bool:
    # Control and format characters (incl. bidi overrides that disguise an extension) and separators.
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or ch in "/\\"


def clean_name(name: str, *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A file name fit for a key newsroom creates: NFC (macOS writes NFD), control and format characters
    and separators replaced by '_', every kind of space made a plain space, no leading/trailing spaces or
    dots, at most `max_bytes` (the extension kept). InvalidKeyError when nothing usable is left."""
    if not isinstance(name, str):
        raise InvalidKeyError("a file name must be text")
    text = unicodedata.normalize("NFC", name)
    text = "".join("_" if _unusable(ch) else (" " if ch.isspace() else ch) for ch in text)
    text = re.sub(r" {2,}", " ", text).strip(" .")
    if not any(ch.isalnum() for ch in text):
        raise InvalidKeyError(f"file name {name!r} has no letters or digits: rename the file")
    if text.startswith(TMP_SEGMENT_PREFIX):
        text = "_" + text
    stem, dot, ext = text.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, dot, ext = text, "", ""
    while len((stem + dot + ext).encode("utf-8")) > max_bytes and stem:
        stem = stem[:-1]
    cleaned = (stem.rstrip(" .") or "file") + dot + ext
    return validate_key(cleaned)


def validate_story_id(story_id: str) -> str:
    if not isinstance(story_id, str) or not _STORY_ID_RE.match(story_id):
        raise InvalidKeyError(
            f"story id {story_id!r} is not valid: expected {STORY_ID_HEX_CHARS} lowercase hex characters"
        )
    return story_id


def is_story_id(value: object) -> bool:
    return isinstance(value, str) and bool(_STORY_ID_RE.match(value))


def story_id_from_sha256(sha256_hex: str) -> str:
    """A story id is the first characters of its source's sha256: re-ingesting a file is idempotent."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256_hex):
        raise ValueError(f"not a sha256 hex digest: {sha256_hex!r}")
    return sha256_hex[:STORY_ID_HEX_CHARS]


def story_prefix(story_id: str) -> str:
    return f"{STORY_PREFIX}/{validate_story_id(story_id)}/"


def story_key(story_id: str, stage: str, name: str) -> str:
    """Build `stories/<story_id>/<stage>/<name>`; `name` may contain sub-folders but never escape."""
    if not _STAGE_RE.match(stage or ""):
        raise InvalidKeyError(f"stage {stage!r} must be lowercase letters, digits and '-'")
    validate_new_key(name)
    return validate_key(f"{story_prefix(story_id)}{stage}/{name}")


def story_id_of(key: str) -> str:
    """The story id a key belongs to (InvalidKeyError if it is not under `stories/`)."""
    parts = validate_key(key).split("/")
    if len(parts) < 3 or parts[0] != STORY_PREFIX:
        raise InvalidKeyError(f"key {key!r} is not under {STORY_PREFIX}/<story_id>/")
    return validate_story_id(parts[1])


RUNS_PREFIX = "runs"


def run_record_key(flow_run_id: str) -> str:
    """`runs/<flow-run id>.json`: which story a package run is about (read by the webhook's status call)."""
    if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", flow_run_id or ""):
        raise InvalidKeyError(f"{flow_run_id!r} is not a flow-run id (a lowercase UUID)")
    return f"{RUNS_PREFIX}/{flow_run_id}.json"
