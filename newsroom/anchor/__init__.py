"""The digital anchor: a portrait that speaks the synthesised news read, lip-synced.

    renderer = LandmarkAnchorRenderer.load()            # or load_renderer("landmark", portrait="me.jpg")
    video = renderer.render(speech, "anchor.mp4", progress=print)

`AnchorRenderer` is the one-method plug-in interface; `LandmarkAnchorRenderer` animates MediaPipe Face
Mesh landmarks from phoneme timings (energy of the audio when there are none). Heavy packages (OpenCV,
MediaPipe, Pillow) are imported inside the loaders.
"""

from newsroom.anchor.base import AnchorRenderer, AnchorVideo
from newsroom.anchor.motion import blink_times, blink_track, head_motion
from newsroom.anchor.portrait import Portrait, default_portrait, detect_landmarks, load_portrait
from newsroom.anchor.renderer import RENDERERS, LandmarkAnchorRenderer, load_renderer
from newsroom.anchor.rig import FaceRig, RigPose
from newsroom.anchor.visemes import VISEMES, MouthTrack, Viseme, energy_track, mouth_track, phoneme_track

__all__ = [
    "RENDERERS",
    "VISEMES",
    "AnchorRenderer",
    "AnchorVideo",
    "FaceRig",
    "LandmarkAnchorRenderer",
    "MouthTrack",
    "Portrait",
    "RigPose",
    "Viseme",
    "blink_times",
    "blink_track",
    "default_portrait",
    "detect_landmarks",
    "energy_track",
    "head_motion",
    "load_portrait",
    "load_renderer",
    "mouth_track",
    "phoneme_track",
]
