"""Errors whose messages say what to do next.

Every error the library raises on bad input or a missing dependency is a `NewsroomError`; the CLI
prints its message as one line and exits non-zero. `TransientError` marks the only failures worth a
retry (a storage service that is briefly unreachable), so Prefect tasks retry those and nothing else.
"""

from __future__ import annotations


class NewsroomError(Exception):
    """Base class: the message is for a person and says what to do."""


class ConfigError(NewsroomError):
    """A setting is missing or invalid."""


class InvalidKeyError(NewsroomError):
    """An object key is malformed or would escape its prefix."""


class ObjectNotFoundError(NewsroomError):
    """A key that should exist in the object store does not."""


class ObjectChangedError(NewsroomError):
    """A stored object no longer matches the sha256 its manifest record holds (written again, or damaged)."""


class SourceError(NewsroomError):
    """A source given to ingest cannot be used (missing path, unsupported scheme, ...)."""


class MediaError(NewsroomError):
    """ffmpeg/ffprobe could not read or convert a media file."""


class NoAudioError(MediaError):
    """The media has no audio stream where one is needed."""


class MediaRefusedError(MediaError):
    """A file was refused by the media gate (its format or a limit); the message names the setting."""


class DamagedMediaError(MediaError):
    """Too much of a source is damaged or missing to use it."""


class ModelNotInstalledError(NewsroomError):
    """The package that carries a model's weights is not installed."""


class ModelIntegrityError(NewsroomError):
    """Packaged weights did not match their recorded checksum."""


class TransientError(NewsroomError):
    """A failure that may succeed when retried (network, storage service unavailable)."""


class DeadlineError(TransientError):
    """A child process ran past its deadline and was killed (a slow or overloaded machine; retried)."""


class ResourceError(TransientError):
    """The system killed a child (e.g. out of memory) or the disk is full (retried)."""


def is_transient_failure(state_type: str, message: str | None) -> bool:
    """Did a (Prefect) run end because of the machine (crashed, killed, a transient error), not because of
    its input? `state_type` is the state's type ("FAILED", "CRASHED", ...); a failed run's message starts
    with its exception's class name."""
    if state_type == "CRASHED":
        return True
    first = (message or "").lstrip().split(":", 1)[0].strip()
    return state_type == "FAILED" and first in transient_error_names()


def transient_error_names() -> frozenset[str]:
    """Class names of every transient error (a failed run's state message starts with one of them)."""
    import newsroom.llm.errors  # noqa: F401  (registers its transient subclasses)

    names, todo = set(), [TransientError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return frozenset(names)
