"""Which anchor a presenter file asks for: the one place that maps a portrait option to a renderer.

A presenter is given as a file (the CLI's `--portrait`, a flow's `portrait_key`, a webhook's `portrait_key`):
nothing, for the public-domain portrait that ships; a still (JPEG, PNG, ...), for the landmark rig painted on
it; or a mouth atlas (`.npz`, made once by `newsroom anchor --reference FOOTAGE --atlas presenter.npz`), for the
presenter's own mouth on the atlas's base frame (reference-footage mode).
"""

from __future__ import annotations

from pathlib import Path

from newsroom.anchor.base import AnchorRenderer

ATLAS_SUFFIX = ".npz"


def is_atlas(presenter: str | Path | None) -> bool:
    return presenter is not None and Path(presenter).suffix.lower() == ATLAS_SUFFIX


def presenter_renderer(presenter: str | Path | None = None, **options) -> AnchorRenderer:
    """The renderer for `presenter` (see the module docstring); `options` go to its loader (workers, seed)."""
    if is_atlas(presenter):
        from newsroom.anchor.reference import ReferenceAnchorRenderer

        return ReferenceAnchorRenderer.load(presenter, **options)
    from newsroom.anchor.renderer import LandmarkAnchorRenderer

    return LandmarkAnchorRenderer.load(presenter, **options)
