"""The deployments: the same set for `newsroom serve` (one process, one machine) and infra/prefect.yaml
(work pools, many machines). Their names live in flows/names.py (in step with infra/prefect.yaml)."""

from __future__ import annotations

from typing import Any

from flows.names import (
    ARTICLE_DEPLOYMENT,
    BROADCAST_DEPLOYMENT,
    BULLETIN_DEPLOYMENT,
    EDIT_DEPLOYMENT,
    INBOX_CRON,
    INBOX_DEPLOYMENT,
    INGEST_DEPLOYMENT,
    PACKAGE_DEPLOYMENT,
    TAGS,
    UPSCALE_DEPLOYMENT,
    deployment_name,
)

__all__ = ["INBOX_CRON", "INBOX_DEPLOYMENT", "PACKAGE_DEPLOYMENT", "deployments", "serve_all"]


def deployments(*, inbox_cron: str | None = INBOX_CRON) -> list[Any]:
    """RunnerDeployments of every flow an editor, the schedule or the CMS starts."""
    from flows.article import article
    from flows.broadcast import broadcast
    from flows.bulletin import bulletin
    from flows.edit import edit, upscale_video
    from flows.inbox import scan_inbox
    from flows.ingest import ingest
    from flows.package import newsroom_package

    return [
        newsroom_package.to_deployment(deployment_name(PACKAGE_DEPLOYMENT), tags=TAGS,
                                       description="The whole story: ingest, edit, draft, broadcast."),
        ingest.to_deployment(deployment_name(INGEST_DEPLOYMENT), tags=TAGS,
                             description="Ingest and transcribe one source."),
        edit.to_deployment(deployment_name(EDIT_DEPLOYMENT), tags=TAGS,
                           description="Highlight edit, subtitles, covers, vertical version."),
        upscale_video.to_deployment(deployment_name(UPSCALE_DEPLOYMENT), tags=TAGS,
                                    description="Real-ESRGAN/Lanczos upscaling of one video in chunks."),
        broadcast.to_deployment(deployment_name(BROADCAST_DEPLOYMENT), tags=TAGS,
                                description="Draft, anchor voice and video, mastered segment."),
        article.to_deployment(deployment_name(ARTICLE_DEPLOYMENT), tags=TAGS,
                              description="An article and its pictures -> a narrated, subtitled video."),
        bulletin.to_deployment(deployment_name(BULLETIN_DEPLOYMENT), tags=TAGS,
                               description="Text items -> a bulletin the digital anchor presents."),
        # One scan at a time: a second would only race the first for the same objects.
        scan_inbox.to_deployment(deployment_name(INBOX_DEPLOYMENT), tags=TAGS, cron=inbox_cron, concurrency_limit=1,
                                 description="Start a package run for every new object in the inbox."),
    ]


def serve_all(*, limit: int | None = None, inbox_cron: str | None = INBOX_CRON) -> None:
    """Serve every deployment from this process (blocks): the single-machine way to run newsroom."""
    from prefect import serve

    serve(*deployments(inbox_cron=inbox_cron), limit=limit)
