"""The ObjectStore protocol every backend implements, plus helpers shared by backends."""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from newsroom.types import ObjectInfo

_EXTRA_TYPES = {
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".ttml": "application/ttml+xml",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".md": "text/markdown; charset=utf-8",
    ".otio": "application/json",
    ".edl": "text/plain; charset=utf-8",
}


def guess_content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def sha256_file(path: str | Path, chunk_bytes: int = 4 * 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


@runtime_checkable
class ObjectStore(Protocol):
    """A small key -> bytes store. Keys are validated relative paths (see `storage.keys`)."""

    def put_file(
        self, key: str, path: str | Path, *, content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo: ...

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo: ...

    def get_file(self, key: str, path: str | Path) -> Path: ...

    def get_bytes(self, key: str) -> bytes: ...

    def put_json(self, key: str, value: Any, *, metadata: dict[str, str] | None = None) -> ObjectInfo: ...

    def get_json(self, key: str) -> Any: ...

    def exists(self, key: str) -> bool: ...

    def stat(self, key: str) -> ObjectInfo: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...

    def delete(self, key: str) -> None: ...

    def copy(self, source_key: str, dest_key: str, *, metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Copy an object (content, type and metadata, plus `metadata` if given) inside the store; the copy
        appears whole or not at all."""
        ...

    def url(self, key: str, expires_s: int | None = None) -> str:
        """A presigned URL (MinIO) or a file:// URL (local) for people and players."""
        ...

    @property
    def location(self) -> str:
        """Identifies the store (backend + root/bucket) - part of task cache keys."""
        ...


class JsonMixin:
    """put_json/get_json in terms of put_bytes/get_bytes, shared by the backends."""

    def put_json(self, key: str, value: Any, *, metadata: dict[str, str] | None = None) -> ObjectInfo:
        data = json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")
        return self.put_bytes(key, data, content_type="application/json", metadata=metadata)  # type: ignore[attr-defined]

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key).decode("utf-8"))  # type: ignore[attr-defined]


def delete_prefix(store: ObjectStore, prefix: str) -> int:
    """Delete every object under `prefix`; returns how many were deleted."""
    keys = [info.key for info in store.list(prefix)]
    for key in keys:
        store.delete(key)
    return len(keys)
