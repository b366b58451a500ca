"""Run a stage inline or as a run of its deployment (NEWSROOM_DISPATCH), so heavy stages reach their pool."""

from __future__ import annotations

from typing import Any

from newsroom.errors import NewsroomError, TransientError, is_transient_failure
from tasks.common import settings


class StageRunFailed(NewsroomError):
    """A stage dispatched to its deployment did not complete."""


class StageRunInterrupted(StageRunFailed, TransientError):
    """A dispatched stage ended for the machine's reasons (crashed, a transient error): worth running again."""


def dispatching() -> bool:
    return settings().dispatch == "deployments"


def run_stage(stage_flow: Any, deployment: str, **parameters: Any) -> Any:
    """Call `stage_flow(**parameters)` inline; with NEWSROOM_DISPATCH=deployments (set by infra/prefect.yaml)
    start a run of `deployment` (`<flow name>/<deployment name>`, flows/names.py) instead - a linked subflow
    on that deployment's work pool - wait for it and return None (its outputs are where the story's layout
    puts them, recorded in its manifest fragments)."""
    if not dispatching():
        return stage_flow(**parameters)
    from prefect.deployments import run_deployment

    run = run_deployment(deployment, parameters=parameters, timeout=None)
    if run.state is None or not run.state.is_completed():
        state = run.state.name if run.state else "unknown"
        why = f" ({run.state.message})" if run.state is not None and run.state.message else ""
        transient = run.state is not None and is_transient_failure(run.state.type.value, run.state.message)
        raise (StageRunInterrupted if transient else StageRunFailed)(
            f"the {deployment} stage (flow run {run.id}) ended {state}{why}: open it in the Prefect UI")
    return None
