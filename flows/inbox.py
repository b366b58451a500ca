"""The scheduled inbox scan: every new object under the inbox prefix becomes one story package run."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.names import PACKAGE_DEPLOYMENT
from newsroom.inbox import InboxResult
from tasks.common import settings
from tasks.inbox import list_inbox, note_error, summarise_inbox, take_object


@flow(name="inbox-scan", log_prints=False, validate_parameters=True)
def scan_inbox(
    prefix: str | None = None,
    settle_s: Annotated[float, Field(ge=0, le=3600)] | None = None,
    max_objects: Annotated[int, Field(ge=1, le=1000)] = 100,
) -> list[InboxResult]:
    """Start one package run per new inbox object; move handled objects to archive/ (or failed/ with the reason).

    Args:
        prefix: Bucket prefix to scan (default: the inbox_prefix setting, inbox/).
        settle_s: Leave objects changed this recently for the next scan (default: the inbox_settle_s setting).
        max_objects: At most this many objects per scan; the rest wait for the next one.

    Returns:
        One result per object: started, duplicate (same content seen before), retried (its earlier run failed
        for the machine's reasons), failed, waiting, gone or error.
    """
    batch, waiting, later = list_inbox(prefix or settings().inbox_prefix,
                                       settings().inbox_settle_s if settle_s is None else settle_s, max_objects)
    results = [InboxResult(key, "waiting", "changed too recently; next scan") for key in waiting]
    results += [InboxResult(key, "waiting", f"over this scan's batch of {max_objects}; next scan") for key in later]
    for key in batch:
        state = take_object(key, PACKAGE_DEPLOYMENT, return_state=True)
        if state.is_completed():
            results.append(state.result())
        else:  # one bad object never stops the scan: it stays for the next one (failed/ after a few tries)
            results.append(note_error(key, state.message or "failed"))
    summarise_inbox(results)
    return results
