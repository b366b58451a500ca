"""Leave nothing running when a CLI run is stopped: the ephemeral Prefect server a local run started."""

from __future__ import annotations

import contextlib
import logging

from tasks.lease import release_held_leases

log = logging.getLogger("newsroom.flows.shutdown")


def release_story_leases() -> int:
    """Give back the story leases this process holds, while the Prefect server is still up (a CLI stopped
    by a signal): running the same story again then starts at once instead of waiting for them to expire."""
    released = release_held_leases()
    if released:
        log.info("released %d story lease(s)", released)
    return released


def stop_ephemeral_servers() -> int:
    """Stop the temporary Prefect API servers this process started (Prefect stops them at normal exit;
    a CLI stopped by a signal exits without that). Returns how many were running."""
    try:
        from prefect.server.api.server import SubprocessASGIServer
    except ImportError:  # pragma: no cover - prefect always ships it
        return 0
    servers = [s for s in list(getattr(SubprocessASGIServer, "_instances", {}).values()) if s.server_process]
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()
    if servers:
        log.info("stopped %d temporary Prefect server(s)", len(servers))
    return len(servers)
