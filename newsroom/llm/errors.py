"""Errors of the news-draft LLM stage. Messages say what to do next (see newsroom/errors.py)."""

from __future__ import annotations

from newsroom.errors import NewsroomError, TransientError


class LLMError(NewsroomError):
    """The language model (local or remote) failed in a way a retry of the task will not fix."""


class LLMOutputError(LLMError):
    """The model kept answering with text that is not the JSON we asked for (after bounded retries)."""


class LLMUnavailableError(LLMError, TransientError):
    """An LLM endpoint could not be reached or answered 5xx after bounded retries: worth a task retry."""


class EmptyTranscriptError(NewsroomError):
    """The transcript has no speech (or too little) to write a story from: nothing to write about."""
