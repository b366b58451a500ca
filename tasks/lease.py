"""One run per story at a time, across processes, workers and machines: a lease keyed by the story id.

The lease is a Prefect global concurrency limit of one slot named after the story (`story-<story id>`),
taken with a server-side lease of `story_lease_s` that a thread of the holding process renews. A run that
dies (kill -9, a lost machine) frees its story once the lease runs out; one that finishes frees it at once.
A second run of the same story (an inbox drop and a CMS request for the same content, two requests with a
different `target_s`) waits for it - at most `story_wait_s`, then it fails with a transient error and can
be run again - and then reuses what the first one made (the resume cache) or makes its own version, never
both writing at once. Its `discard` can therefore never delete objects another run is writing.

Who holds it: the run that starts a story's work (a package, or an ingest, edit or broadcast started on its
own). The package opens a `lease_scope()`: the lease its inline ingest takes (where the story id becomes
known) is kept until the whole package ends. Stages dispatched to their deployments (edit, broadcast,
upscale) are child runs of the holder and take none of their own.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

from newsroom.errors import TransientError
from newsroom.storage.keys import validate_story_id
from tasks.common import settings

log = logging.getLogger("newsroom.tasks.lease")
LEASE_PREFIX = "story-"
FIRST_TRY_S = 1.0  # a free story is taken at once; longer means another run holds it (and we say so)


class StoryBusyError(TransientError):
    """Another run held the story for longer than this run may wait (story_wait_s)."""


def lease_name(story_id: str) -> str:
    return f"{LEASE_PREFIX}{validate_story_id(story_id)}"


class LeaseScope:
    """Leases taken inside the scope are held until it ends (and released then, whatever happened)."""

    def __init__(self) -> None:
        self.held: dict[str, contextlib.ExitStack] = {}

    def close(self) -> None:
        for story_id, stack in reversed(list(self.held.items())):
            try:
                stack.close()
            except Exception as exc:  # the lease then runs out by itself
                log.warning("could not release the lease of story %s (%s: %s); it expires within %.0f s",
                            story_id, type(exc).__name__, exc, settings().story_lease_s)
        self.held.clear()


_SCOPE: ContextVar[LeaseScope | None] = ContextVar("newsroom_story_leases", default=None)
# Every lease this process holds, by story id, whichever scope or thread took it: a CLI stopped by a signal
# gives them back before it exits (`release_held_leases`), so running the story again does not wait for the
# lease to run out. Plain dict operations (atomic under the GIL): no lock a signal handler could wait on.
_HELD: dict[int, tuple[str, contextlib.ExitStack]] = {}


@contextlib.contextmanager
def lease_scope() -> Iterator[LeaseScope]:
    """Hold every story lease taken inside until the block ends (a package: from its ingest to its manifest)."""
    outer = _SCOPE.get()
    if outer is not None:
        yield outer
        return
    scope = LeaseScope()
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)
        scope.close()


@contextlib.contextmanager
def story_lease(story_id: str) -> Iterator[None]:
    """Hold the story's lease for the block (or for the enclosing `lease_scope`), waiting for another run that
    holds it. Re-entrant within a scope; a no-op in a stage dispatched by a run that holds it."""
    scope = _SCOPE.get()
    if scope is not None and story_id in scope.held:
        yield
        return
    if scope is None and _dispatched_by_a_holder():
        yield
        return
    stack = contextlib.ExitStack()
    _acquire(stack, story_id)
    _HELD[id(stack)] = (story_id, stack)
    stack.callback(_HELD.pop, id(stack), None)
    if scope is not None:
        scope.held[story_id] = stack
        yield
        return
    with stack:
        yield


def release_held_leases() -> int:
    """Give back every story lease this process holds (a CLI stopped by a signal, before its temporary
    Prefect server stops). Returns how many were released; one that cannot be runs out by itself."""
    released = 0
    for key in list(_HELD):
        held = _HELD.pop(key, None)
        if held is None:  # its run let it go meanwhile
            continue
        story_id, stack = held
        try:
            stack.close()
            released += 1
        except Exception as exc:
            log.warning("could not release the lease of story %s (%s: %s); it expires within %.0f s",
                        story_id, type(exc).__name__, exc, settings().story_lease_s)
    return released


def _dispatched_by_a_holder() -> bool:
    """A child flow run in a process of its own (a stage run through its deployment): its parent holds."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.parent_task_run_id)


def _acquire(stack: contextlib.ExitStack, story_id: str) -> None:
    from prefect.concurrency.sync import concurrency

    name = lease_name(story_id)
    _ensure_limit(name)
    lease_s, wait_s = settings().story_lease_s, settings().story_wait_s
    holder = _holder()

    def take(timeout_s: float) -> None:
        stack.enter_context(concurrency(name, occupy=1, timeout_seconds=timeout_s, lease_duration=lease_s,
                                        strict=True, holder=holder, raise_on_lease_renewal_failure=False))

    try:
        take(FIRST_TRY_S)
    except TimeoutError:
        log.warning("story %s is being processed by another run: waiting for it (at most %.0f s)", story_id, wait_s)
        try:
            take(wait_s)
        except TimeoutError:
            raise StoryBusyError(f"story {story_id} was held by another run for over {wait_s:.0f} s "
                                 "(NEWSROOM_STORY_WAIT_S): run this one again once that one has finished") from None
    log.info("story %s: lease taken (%s)", story_id, name)


def _ensure_limit(name: str) -> None:
    """Create the story's one-slot limit the first time (kept afterwards: a run waiting on it must find it)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


def _holder():
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    return ConcurrencyLeaseHolder(type="flow_run", id=context.flow_run.id)
