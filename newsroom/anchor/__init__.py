"""The digital anchor: a portrait that speaks the synthesised news read, lip-synced.

    renderer = LandmarkAnchorRenderer.load()            # or load_renderer("landmark", portrait="me.jpg")
    video = renderer.render(speech, "anchor.mp4", progress=print)

`AnchorRenderer` is the one-method plug-in interface; `LandmarkAnchorRenderer` animates MediaPipe Face
Mesh landmarks from phoneme timings (energy of the audio when there are none) and paints the open mouth
(`mouth`); `ReferenceAnchorRenderer` speaks with a presenter's own mouth, taken from >= 30 s of their
footage (`reference`: a "video rewrite"). Heavy packages (OpenCV, MediaPipe, Pillow) are imported
inside the loaders.
"""

from newsroom.anchor.base import AnchorRenderer, AnchorVideo
from newsroom.anchor.motion import (
    SpeechEvents,
    blink_times,
    blink_track,
    brow_track,
    head_motion,
    nod_track,
    speech_events,
)
from newsroom.anchor.portrait import Portrait, default_portrait, detect_landmarks, load_portrait
from newsroom.anchor.presenter import is_atlas, presenter_renderer
from newsroom.anchor.quality import MouthStats, mouth_stats
from newsroom.anchor.reference import MouthAtlas, ReferenceAnchorRenderer
from newsroom.anchor.renderer import RENDERERS, LandmarkAnchorRenderer, load_renderer
from newsroom.anchor.rig import FaceRig, RigPose
from newsroom.anchor.visemes import (
    VISEME_GROUPS,
    VISEMES,
    MouthTrack,
    Viseme,
    energy_track,
    mouth_track,
    phoneme_track,
)

RENDERERS[ReferenceAnchorRenderer.name] = ReferenceAnchorRenderer.load

__all__ = [
    "RENDERERS",
    "VISEMES",
    "VISEME_GROUPS",
    "AnchorRenderer",
    "AnchorVideo",
    "FaceRig",
    "LandmarkAnchorRenderer",
    "MouthAtlas",
    "MouthStats",
    "MouthTrack",
    "Portrait",
    "ReferenceAnchorRenderer",
    "RigPose",
    "SpeechEvents",
    "Viseme",
    "blink_times",
    "blink_track",
    "brow_track",
    "default_portrait",
    "detect_landmarks",
    "energy_track",
    "head_motion",
    "is_atlas",
    "load_portrait",
    "load_renderer",
    "mouth_stats",
    "mouth_track",
    "nod_track",
    "phoneme_track",
    "presenter_renderer",
    "speech_events",
]
