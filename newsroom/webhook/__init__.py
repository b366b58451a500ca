"""The CMS webhook service: signed HTTP requests in, Prefect deployment runs out (no media work here)."""

from newsroom.webhook.app import LaunchedRun, Launcher, LaunchError, RunInfo, create_app

__all__ = ["LaunchError", "LaunchedRun", "Launcher", "RunInfo", "create_app"]
