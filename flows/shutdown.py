"""Leave nothing running when a CLI run is stopped: the ephemeral Prefect server a local run started."""

from __future__ import annotations

import contextlib
import logging

log = logging.getLogger("newsroom.flows.shutdown")


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
