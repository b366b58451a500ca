"""Object storage: one small protocol, a local-folder and a MinIO/S3 backend."""

from __future__ import annotations

from newsroom.config import Settings, get_settings
from newsroom.storage.base import ObjectStore, delete_prefix, guess_content_type, sha256_file
from newsroom.storage.keys import (
    story_id_from_sha256,
    story_id_of,
    story_key,
    story_prefix,
    validate_key,
)
from newsroom.storage.local import LocalStore

__all__ = [
    "LocalStore",
    "ObjectStore",
    "delete_prefix",
    "guess_content_type",
    "open_store",
    "sha256_file",
    "story_id_from_sha256",
    "story_id_of",
    "story_key",
    "story_prefix",
    "validate_key",
]


def open_store(settings: Settings | None = None) -> ObjectStore:
    """The store the settings name (local folder by default)."""
    settings = settings or get_settings()
    if settings.storage_backend == "minio":
        from newsroom.storage.minio import MinioStore

        return MinioStore(
            settings.minio_endpoint,
            settings.minio_access_key,
            settings.minio_secret_key.get_secret_value(),
            settings.minio_bucket,
            secure=settings.minio_secure,
            region=settings.minio_region,
            presign_expiry_s=settings.presign_expiry_s,
            public_url=settings.minio_public_url,
            connect_timeout_s=settings.storage_connect_timeout_s,
            read_timeout_s=settings.storage_read_timeout_s,
            retries=settings.storage_retries,
            retry_backoff_s=settings.storage_retry_backoff_s,
        )
    return LocalStore(settings.local_root)
