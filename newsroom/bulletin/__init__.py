"""The bulletin robot (智能播报): text in, a presented bulletin out.

    items = parse_items(text)                  # items separated by `---` lines (or blank lines)
    sting = render_sting("sting.mp4")          # the transition between items: a wipe and a tone sweep
    # per item: speakable(text) -> the anchor voice -> the digital anchor; then one programme
    # (newsroom.broadcast.programme): item, sting, item, ... with headlines as lower thirds, subtitles from
    # the voice's timings, mastered to R128.
"""

from newsroom.bulletin.items import (
    MAX_ITEM_CHARS,
    MAX_ITEMS,
    BulletinError,
    BulletinItem,
    bulletin_story_id,
    item_from_text,
    parse_items,
    split_items,
)
from newsroom.bulletin.sting import STING_S, render_sting

__all__ = [
    "MAX_ITEMS",
    "MAX_ITEM_CHARS",
    "STING_S",
    "BulletinError",
    "BulletinItem",
    "bulletin_story_id",
    "item_from_text",
    "parse_items",
    "render_sting",
    "split_items",
]
