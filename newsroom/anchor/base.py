"""The anchor renderer interface and its typed result.

A renderer turns synthesised speech into a talking-head video. One method is required, so a learned
lip-sync network (Wav2Lip/MuseTalk-class models with weights the user provides) can plug in beside our
landmark-driven renderer without touching the broadcast stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from newsroom.media import Progress
from newsroom.types import Speech


@dataclass(frozen=True, slots=True)
class AnchorVideo:
    """A rendered anchor clip: H.264 + AAC in MP4, as long as the speech."""

    path: str
    fps: float
    width: int
    height: int
    frames: int
    duration_s: float
    renderer: str
    face_found: bool  # the portrait had a face the renderer could animate (False: a still was used)
    mouth_openness: tuple[float, ...] = ()  # per frame, 0 closed .. 1 widest (what was drawn)
    eye_closure: tuple[float, ...] = ()  # per frame, 0 open .. 1 shut
    mouth_source: str = ""  # "phonemes" | "energy"

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


@runtime_checkable
class AnchorRenderer(Protocol):
    """Speech in, anchor video out. Implementations load their models once and render many times."""

    def render(self, speech: Speech, out: str | Path, *, progress: Progress | None = None) -> AnchorVideo:
        """Write an MP4 of the anchor speaking `speech` to `out` (audio included) and describe it."""
        ...
