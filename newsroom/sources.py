"""What a `source` string given to ingest means: a local path or an object-store key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from newsroom.errors import InvalidKeyError, SourceError
from newsroom.storage.base import ObjectStore
from newsroom.storage.keys import validate_key

MEDIA_SUFFIXES = {
    ".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf", ".ts", ".mts", ".mpg", ".mpeg",
    ".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus",
}


@dataclass(frozen=True, slots=True)
class SourceSpec:
    kind: str  # "path" | "key"
    value: str  # absolute local path, or object key

    @property
    def name(self) -> str:
        return Path(self.value).name


def parse_source(source: str, store: ObjectStore | None = None) -> SourceSpec:
    """Interpret `source`: `file://` or a path that exists -> path; `s3://bucket/key` or a stored key -> key."""
    if not isinstance(source, str) or not source.strip():
        raise SourceError("source must be a local file path or an object key, got an empty value")
    source = source.strip()
    if "://" in source:
        parsed = urlparse(source)
        if parsed.scheme == "file":
            return _local(Path(unquote(parsed.path)))
        if parsed.scheme == "s3":
            key = parsed.path.lstrip("/")
            return _key(key, store, source)
        raise SourceError(
            f"unsupported source scheme {parsed.scheme!r} in {source!r}: give a local path, file://, s3://bucket/key "
            "or an object key (download web media first, e.g. into the inbox/ prefix)"
        )
    path = Path(source).expanduser()
    if path.exists() or source.startswith(("/", "./", "../", "~")):
        return _local(path)
    return _key(source, store, source)


def _local(path: Path) -> SourceSpec:
    path = path.expanduser().resolve()
    if not path.exists():
        raise SourceError(f"{path} does not exist: check the path")
    if not path.is_file():
        raise SourceError(f"{path} is not a file")
    return SourceSpec("path", str(path))


def _key(key: str, store: ObjectStore | None, original: str) -> SourceSpec:
    try:
        validate_key(key)
    except InvalidKeyError as exc:
        raise SourceError(f"{original!r} is neither an existing local file nor a valid object key ({exc})") from exc
    if store is None or not store.exists(key):
        where = f" in {store.location}" if store is not None else ""
        raise SourceError(f"{original!r} is neither an existing local file nor an object{where}: check the name")
    return SourceSpec("key", key)
