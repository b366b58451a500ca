"""The deployments' names (`<flow name>/<deployment name>`), apart from the flows so that any module can
name a deployment without importing its flow: the inbox and the webhook start the package by name, the
package starts its stages by name. Keep them in step with infra/prefect.yaml (a test checks)."""

from __future__ import annotations

PACKAGE_DEPLOYMENT = "newsroom-package/package"
INGEST_DEPLOYMENT = "ingest/ingest"
EDIT_DEPLOYMENT = "edit/edit"
UPSCALE_DEPLOYMENT = "upscale-video/upscale"
BROADCAST_DEPLOYMENT = "broadcast/broadcast"
INBOX_DEPLOYMENT = "inbox-scan/inbox"
ARTICLE_DEPLOYMENT = "article/article"
BULLETIN_DEPLOYMENT = "bulletin/bulletin"
INBOX_CRON = "*/5 * * * *"
TAGS = ["newsroom"]


def deployment_name(full_name: str) -> str:
    """The deployment part of `<flow name>/<deployment name>`."""
    return full_name.split("/", 1)[1]
