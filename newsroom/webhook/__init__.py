"""The CMS webhook service: signed HTTP requests in, Prefect deployment runs out (no media work here).

`app.py` builds the app (`create_app`); `routes.py` has the story handlers and `programmes.py` the article
and bulletin ones, `checks.py` the request checks they share, `state.py` what they are given as
dependencies, `launcher.py` what they ask of Prefect, `auth.py` the signature scheme, `schemas.py` the
request and response bodies and `docs.py` what the OpenAPI schema says about the headers they read.
"""

from newsroom.webhook.app import create_app
from newsroom.webhook.launcher import LaunchedRun, Launcher, LaunchError, RunInfo

__all__ = ["LaunchError", "LaunchedRun", "Launcher", "RunInfo", "create_app"]
