"""The bulletin flow (智能播报): text items in, a bulletin the digital anchor presents out.

    read the items -> the anchor reads each (voice + lip-sync) -> stings between items, headlines,
    subtitles, mastering, timeline -> (translated subtitles, with translate_to) -> manifest
"""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from newsroom.bulletin import MAX_ITEMS
from newsroom.layout import BULLETIN, BULLETIN_ROUTE
from newsroom.params import IngestLanguage, LoudnessProfile, TranslateLanguage
from tasks.bulletin import FPS, assemble, read_item, receive_bulletin, spoken_lines
from tasks.common import publish_manifest
from tasks.edit import translate_subtitles
from tasks.lease import story_lease
from tasks.reports import record_run, summarise_programme


@flow(name="bulletin", log_prints=False, validate_parameters=True)
def bulletin(
    items: Annotated[list[str], Field(min_length=1, max_length=MAX_ITEMS)],
    language: IngestLanguage = "auto",
    portrait_key: str = "",
    loudness: LoudnessProfile = "broadcast",
    translate_to: TranslateLanguage | None = None,
) -> str:
    """Present text items as one bulletin read by the digital anchor, with a sting between items.

    Args:
        items: The items, in order: what the anchor reads. An item whose first line is short and ends without a
            full stop shows that line as its headline; otherwise its first sentence is shown.
        language: The items' language: auto (from their script) or a language profile's code.
        portrait_key: Object key of the anchor's portrait; empty for the public-domain portrait that ships.
        loudness: broadcast = EBU R128 (-23 LUFS, true peak <= -1 dBTP); web = -16 LUFS.
        translate_to: Also subtitle the bulletin in this language (the draft model translates the cues, each timed
            on its source cue): subtitles.<language>.srt/.vtt/.ttml beside subtitles.srt. Off by default (it costs
            model time); ignored when it is the items' own language.

    Returns:
        The story id (from the items' content hash); outputs live under stories/<story id>/bulletin/.
    """
    source = receive_bulletin(list(items), language)
    with story_lease(source.story_id):  # one run per story at a time (tasks/lease.py)
        record_run(source.story_id, "bulletin", "running")
        # One after another: each read keeps the machine's cores busy (voice, then the anchor's frames).
        reads = [read_item(source.story_id, n, item, source.language, portrait_key or None)
                 for n, item in enumerate(source.items, 1)]
        video = assemble(source, reads, loudness)
        if translate_to and translate_to != source.language:
            translate_subtitles(source.story_id, spoken_lines(source, reads), FPS, (), translate_to, BULLETIN)
        publish_manifest(source.story_id)
        summarise_programme(source.story_id, source.items[0].headline, video, None, BULLETIN_ROUTE)
        record_run(source.story_id, "bulletin", "done")
    return source.story_id
