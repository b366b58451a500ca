"""The local stack: a real S3 server, the Prefect server, pool workers and the webhook as supervised
processes on one machine (`newsroom stack up|down|status`). See `newsroom.stack.core`."""

from newsroom.stack.core import SERVICES, ServiceStatus, Stack, StackError

__all__ = ["SERVICES", "ServiceStatus", "Stack", "StackError"]
