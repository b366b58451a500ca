"""MinIO / S3 object store through the `minio` SDK.

Uploads of large files go multipart (the SDK splits at `PART_SIZE_BYTES`); an S3 PUT is atomic, so a
reader never sees half an object. Per-object facts go in user metadata (x-amz-meta-*), never object
tags (some S3 stand-ins corrupt tagged objects). Connection failures and 5xx answers become
`TransientError`, the only errors tasks retry.

Every call has deadlines: a connect timeout, a read timeout (per socket read) and a few retries with
back-off (the SDK's own defaults are 300 s and 5 retries: half an hour on a stalled server). Past them the
call raises `TransientError`, and the task that made it is retried later as a whole.

A process forked while a store has open connections (a multiprocessing pool, a forking server) must not
share them with its parent: two processes reading one socket get each other's answers. The child drops
every pooled connection right after the fork and opens its own.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import weakref
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from newsroom.errors import ConfigError, NewsroomError, ObjectNotFoundError, TransientError
from newsroom.storage.base import JsonMixin, guess_content_type
from newsroom.storage.keys import validate_key, validate_new_key
from newsroom.types import ObjectInfo

log = logging.getLogger("newsroom.storage.minio")
PART_SIZE_BYTES = 16 * 1024 * 1024
META_PREFIX = "x-amz-meta-"
_POOLS: weakref.WeakSet = weakref.WeakSet()  # every store's connection pool in this process


def _drop_inherited_connections() -> None:
    """In a forked child: forget the parent's open connections (closing our copy of each socket)."""
    for pool in list(_POOLS):
        pool.clear()


os.register_at_fork(after_in_child=_drop_inherited_connections)


class MinioStore(JsonMixin):
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str | None = None,
        presign_expiry_s: int = 7 * 24 * 3600,
        create_bucket: bool = True,
        public_url: str | None = None,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 20.0,
        retries: int = 2,
        retry_backoff_s: float = 0.5,
    ) -> None:
        try:
            from minio import Minio
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError("the MinIO backend needs the storage extra: pip install 'newsroom[storage]'") from exc
        if "://" in endpoint:
            raise ConfigError(f"NEWSROOM_MINIO_ENDPOINT must be host:port, not a URL ({endpoint!r})")
        self.endpoint = endpoint
        self.bucket = bucket
        self.presign_expiry_s = presign_expiry_s
        self.deadline_s = (retries + 1) * (connect_timeout_s + read_timeout_s)
        http = _http_client(secure, connect_timeout_s, read_timeout_s, retries, retry_backoff_s)
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region,
                            http_client=http)
        # Links for people (presigned URLs) must name the host *they* reach, not the in-cluster one. A
        # signature covers the host, so sign with a client for the public address; with the region given,
        # presigning is pure computation (no request to that address from here).
        self.presigner = self.client
        if public_url:
            parsed = urlsplit(public_url if "://" in public_url else f"http://{public_url}")
            if not parsed.netloc or parsed.path not in ("", "/"):
                raise ConfigError(f"NEWSROOM_MINIO_PUBLIC_URL must be like https://media.example.org, not {public_url!r}")
            self.presigner = Minio(parsed.netloc, access_key=access_key, secret_key=secret_key,
                                   secure=parsed.scheme == "https", region=region or "us-east-1")
        if create_bucket:
            self._call(self._ensure_bucket)

    def __repr__(self) -> str:
        return f"MinioStore({self.endpoint!r}, bucket={self.bucket!r})"

    @property
    def location(self) -> str:
        return f"s3://{self.endpoint}/{self.bucket}"

    def _ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            log.info("creating bucket %s", self.bucket)
            self.client.make_bucket(self.bucket)

    def _call(self, fn, *args, key: str | None = None, **kwargs):
        from minio.error import S3Error, ServerError
        from urllib3.exceptions import HTTPError

        try:
            return fn(*args, **kwargs)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise ObjectNotFoundError(f"no object {key!r} in bucket {self.bucket!r}") from exc
            if exc.code == "NoSuchBucket":
                raise ConfigError(
                    f"bucket {self.bucket!r} does not exist at {self.endpoint}: create it or check "
                    "NEWSROOM_MINIO_BUCKET"
                ) from exc
            if exc.code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise ConfigError(
                    f"MinIO refused access ({exc.code}): check NEWSROOM_MINIO_ACCESS_KEY/SECRET_KEY"
                ) from exc
            if exc.code in ("SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"):
                raise TransientError(f"MinIO at {self.endpoint} is busy ({exc.code}); retry") from exc
            raise NewsroomError(f"MinIO error on {key!r}: {exc.code}: {exc.message}") from exc
        except ServerError as exc:
            raise TransientError(f"MinIO at {self.endpoint} answered {exc.status_code}; retry") from exc
        except HTTPError as exc:
            raise TransientError(
                f"cannot reach MinIO at {self.endpoint} ({type(exc).__name__}, after retries within about "
                f"{self.deadline_s:.0f} s); is it running? The call is retried later"
            ) from exc

    @staticmethod
    def _encode_meta(metadata: dict[str, str] | None) -> dict[str, str]:
        return {k.lower(): quote(str(v), safe=" -_.~:/@") for k, v in (metadata or {}).items()}

    # -- protocol
    def put_file(self, key, path, *, content_type=None, metadata=None) -> ObjectInfo:
        validate_new_key(key)
        self._call(
            self.client.fput_object, self.bucket, key, str(path),
            content_type=content_type or guess_content_type(key),
            metadata=self._encode_meta(metadata), part_size=PART_SIZE_BYTES, key=key,
        )
        return self.stat(key)

    def put_bytes(self, key, data, *, content_type=None, metadata=None) -> ObjectInfo:
        validate_new_key(key)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"put_bytes needs bytes, got {type(data).__name__}")
        self._call(
            self.client.put_object, self.bucket, key, io.BytesIO(bytes(data)), len(data),
            content_type=content_type or guess_content_type(key),
            metadata=self._encode_meta(metadata), key=key,
        )
        return self.stat(key)

    def get_file(self, key, path) -> Path:
        validate_key(key)
        dest = Path(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
        os.close(fd)
        try:
            self._call(self.client.fget_object, self.bucket, key, tmp, tmp_file_path=tmp + ".part", key=key)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
            Path(tmp + ".part").unlink(missing_ok=True)
        return dest

    def get_bytes(self, key) -> bytes:
        validate_key(key)
        response = self._call(self.client.get_object, self.bucket, key, key=key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def exists(self, key) -> bool:
        try:
            self.stat(key)
        except ObjectNotFoundError:
            return False
        return True

    def stat(self, key) -> ObjectInfo:
        validate_key(key)
        obj = self._call(self.client.stat_object, self.bucket, key, key=key)
        metadata = {
            name.lower()[len(META_PREFIX):]: unquote(value)
            for name, value in (obj.metadata or {}).items()
            if name.lower().startswith(META_PREFIX)
        }
        return ObjectInfo(
            key=key,
            size_bytes=int(obj.size or 0),
            content_type=obj.content_type or guess_content_type(key),
            etag=obj.etag,
            last_modified=obj.last_modified.isoformat() if obj.last_modified else None,
            metadata=metadata,
        )

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        objects = self._call(self.client.list_objects, self.bucket, prefix=prefix or None, recursive=True)
        for obj in self._call(list, objects):
            if obj.is_dir:
                continue
            yield ObjectInfo(
                key=obj.object_name,
                size_bytes=int(obj.size or 0),
                content_type=guess_content_type(obj.object_name),
                etag=obj.etag,
                last_modified=obj.last_modified.isoformat() if obj.last_modified else None,
            )

    def delete(self, key) -> None:
        validate_key(key)
        self._call(self.client.remove_object, self.bucket, key, key=key)

    def copy(self, source_key, dest_key, *, metadata=None) -> ObjectInfo:
        from minio.commonconfig import REPLACE, CopySource

        validate_key(source_key)
        validate_new_key(dest_key)
        # Server-side copy: no bytes through this process; metadata and content type are copied too.
        if metadata:  # ... or replaced by the source's metadata plus `metadata`
            src = self.stat(source_key)
            headers = {"Content-Type": src.content_type, **self._encode_meta({**src.metadata, **metadata})}
            self._call(self.client.copy_object, self.bucket, dest_key, CopySource(self.bucket, source_key),
                       metadata=headers, metadata_directive=REPLACE, key=source_key)
        else:
            self._call(self.client.copy_object, self.bucket, dest_key, CopySource(self.bucket, source_key),
                       key=source_key)
        return self.stat(dest_key)

    def url(self, key, expires_s=None) -> str:
        self.stat(key)  # a link to nothing helps nobody: fail clearly instead
        expires = timedelta(seconds=expires_s or self.presign_expiry_s)
        return self._call(self.presigner.presigned_get_object, self.bucket, key, expires=expires, key=key)


def _http_client(secure: bool, connect_timeout_s: float, read_timeout_s: float, retries: int, backoff_s: float):
    """The SDK's connection pool with our deadlines: the same settings as minio's default otherwise."""
    import urllib3

    kwargs = {}
    if secure:
        import certifi

        kwargs = {"cert_reqs": "CERT_REQUIRED", "ca_certs": os.environ.get("SSL_CERT_FILE") or certifi.where()}
    retry = urllib3.Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff_s,
                          status_forcelist=[500, 502, 503, 504], raise_on_status=True)
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
                               maxsize=10, retries=retry, **kwargs)
    _POOLS.add(pool)
    return pool
