"""Cover images: pick a good frame, crop it face-aware to each platform's shape, set the headline on it.

The pipeline is deliberately plain: sample a couple of dozen frames (scene mid-points when scenes are
known), drop black and fade frames, score the rest on sharpness (variance of the Laplacian), exposure
and faces, then crop the winner around the largest face (or the picture's detail) and draw the headline
on a dark band in the lower part, wrapped and sized so it always stays inside the 5% safe area.

Where each step lives:
- sampling and decoding frames: `newsroom.media.sampling` and `newsroom.media.frames` (the media layer);
- scoring and choosing the frame: `newsroom.covers.score`;
- cropping (and the optional upscaler): `newsroom.covers.crop`;
- the headline's layout and drawing: `newsroom.covers.headline`, on `newsroom.typeset` (shared with lower
  thirds and subtitle burn-in; its font and line-breaking names are re-exported here);
- the covers themselves, the recipe calling all of the above: `newsroom.covers.compose.make_covers`.
"""

from newsroom.covers.compose import COVER_SIZES, PNG_COMPRESS_LEVEL, make_covers
from newsroom.covers.crop import Upscaler, check_upscaled, crop_box, crop_to_aspect
from newsroom.covers.headline import MAX_LINES, SAFE_MARGIN, HeadlineLayout, draw_headline, layout_headline
from newsroom.covers.score import (
    ANALYSIS_MAX_SIDE_PX,
    FrameScore,
    score_frame,
    score_samples,
    select_cover_frame,
)
from newsroom.media.sampling import DEFAULT_SAMPLES, sample_frames
from newsroom.typeset import FONT_FILES, NO_LINE_END, NO_LINE_START, headline_font

__all__ = [
    "ANALYSIS_MAX_SIDE_PX",
    "COVER_SIZES",
    "DEFAULT_SAMPLES",
    "FONT_FILES",
    "MAX_LINES",
    "NO_LINE_END",
    "NO_LINE_START",
    "PNG_COMPRESS_LEVEL",
    "SAFE_MARGIN",
    "FrameScore",
    "HeadlineLayout",
    "Upscaler",
    "check_upscaled",
    "crop_box",
    "crop_to_aspect",
    "draw_headline",
    "headline_font",
    "layout_headline",
    "make_covers",
    "sample_frames",
    "score_frame",
    "score_samples",
    "select_cover_frame",
]
