"""A folder as an object store. Writes are atomic: temp file in the same folder, fsync, rename.

Objects live at `<root>/<key>` so people can browse them; content type and user metadata live in a
sidecar `<root>/.meta/<key>.json`, written after the object (a missing sidecar falls back to guesses).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from newsroom.errors import InvalidKeyError, ObjectNotFoundError
from newsroom.storage.base import JsonMixin, guess_content_type
from newsroom.storage.keys import validate_key, validate_new_key
from newsroom.types import ObjectInfo

log = logging.getLogger("newsroom.storage.local")
META_DIR = ".meta"
TMP_PREFIX = ".tmp-"


class LocalStore(JsonMixin):
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    @property
    def location(self) -> str:
        return f"local:{self.root}"

    # -- paths
    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        if not path.is_relative_to(self.root) or path.is_relative_to(self.root / META_DIR):
            raise InvalidKeyError(f"key {key!r} resolves outside the store or into its reserved {META_DIR}/ folder")
        return path

    def _meta_path(self, key: str) -> Path:
        return self.root / META_DIR / f"{key}.json"

    @staticmethod
    def _atomic_write(target: Path, write) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _write_meta(self, key: str, content_type: str | None, metadata: dict[str, str] | None) -> None:
        meta = {"content_type": content_type or guess_content_type(key), "metadata": dict(metadata or {})}
        data = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        self._atomic_write(self._meta_path(key), lambda fh: fh.write(data))

    # -- protocol
    def put_file(self, key, path, *, content_type=None, metadata=None) -> ObjectInfo:
        target = self._path(validate_new_key(key))
        with open(path, "rb") as src:
            self._atomic_write(target, lambda fh: shutil.copyfileobj(src, fh, 8 * 1024 * 1024))
        self._write_meta(key, content_type, metadata)
        return self.stat(key)

    def put_bytes(self, key, data, *, content_type=None, metadata=None) -> ObjectInfo:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"put_bytes needs bytes, got {type(data).__name__}")
        target = self._path(validate_new_key(key))
        self._atomic_write(target, lambda fh: fh.write(data))
        self._write_meta(key, content_type, metadata)
        return self.stat(key)

    def get_file(self, key, path) -> Path:
        source = self._existing(key)
        dest = Path(path)
        self._atomic_write(dest, lambda fh: _copy(source, fh))
        return dest

    def get_bytes(self, key) -> bytes:
        return self._existing(key).read_bytes()

    def exists(self, key) -> bool:
        return self._path(key).is_file()

    def stat(self, key) -> ObjectInfo:
        path = self._existing(key)
        st = path.stat()
        meta_path = self._meta_path(key)
        meta = json.loads(meta_path.read_text("utf-8")) if meta_path.is_file() else {}
        return ObjectInfo(
            key=key,
            size_bytes=st.st_size,
            content_type=meta.get("content_type") or guess_content_type(key),
            etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
            last_modified=datetime.fromtimestamp(st.st_mtime, UTC).isoformat(),
            metadata=meta.get("metadata", {}),
        )

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self.root
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = Path(dirpath).relative_to(base)
            if rel_dir == Path("."):
                dirnames[:] = [d for d in dirnames if d != META_DIR]
            dirnames.sort()
            for name in sorted(filenames):
                if name.startswith(TMP_PREFIX):
                    continue
                key = (rel_dir / name).as_posix() if rel_dir != Path(".") else name
                if not key.startswith(prefix):
                    continue
                try:
                    info = self.stat(key)
                except (InvalidKeyError, ObjectNotFoundError) as exc:  # an unreadable name, or gone meanwhile
                    log.warning("skipping %r in %s: %s", key, self.root, exc)
                    continue
                yield info

    def delete(self, key) -> None:
        self._path(key).unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)
        # Tidy empty folders up to the root so deleted stories leave nothing behind.
        for folder in (self._path(key).parent, self._meta_path(key).parent):
            top = self.root / META_DIR if folder.is_relative_to(self.root / META_DIR) else self.root
            while folder != top and folder.is_relative_to(top):
                try:
                    folder.rmdir()
                except OSError:
                    break
                folder = folder.parent

    def copy(self, source_key, dest_key, *, metadata=None) -> ObjectInfo:
        info = self.stat(source_key)
        source = self._existing(source_key)
        self._atomic_write(self._path(validate_new_key(dest_key)), lambda fh: _copy(source, fh))
        self._write_meta(dest_key, info.content_type, {**info.metadata, **(metadata or {})})
        return self.stat(dest_key)

    def url(self, key, expires_s=None) -> str:
        return self._existing(key).as_uri()

    def local_path(self, key: str) -> Path:
        """The object's file (read-only use): lets local callers skip a copy."""
        return self._existing(key)

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFoundError(f"no object {key!r} in {self.root}")
        return path


def _copy(source: Path, fh) -> None:
    with open(source, "rb") as src:
        shutil.copyfileobj(src, fh, 8 * 1024 * 1024)
