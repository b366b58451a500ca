"""The article flow: a CMS article and its pictures in, a narrated video out (图文转视频).

    receive -> narration -> (anchor intro/outro || pictures 16:9 + 9:16) -> covers || assemble
        -> (translated subtitles, with translate_to) -> manifest

Editors start it from the Prefect UI with the article's key and, when the article does not name them, its
pictures' keys; the CLI (`newsroom article`) and the webhook (`POST /v1/articles`) start the same flow.
"""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from newsroom.layout import ARTICLE
from newsroom.params import AnchorParts, IngestLanguage, LoudnessProfile, TranslateLanguage
from tasks.article import FPS, anchor_read, assemble, covers, narrate, pictures, receive_article, spoken_lines
from tasks.common import publish_manifest
from tasks.edit import translate_subtitles
from tasks.lease import story_lease
from tasks.reports import record_run, summarise_programme


@flow(name="article", log_prints=False, validate_parameters=True)
def article(
    article: str,
    images: list[str] | None = None,
    language: IngestLanguage = "auto",
    target_s: Annotated[float, Field(ge=5, le=600)] = 60.0,
    anchor: AnchorParts = "intro",
    condense: bool = False,
    portrait_key: str = "",
    loudness: LoudnessProfile = "broadcast",
    translate_to: TranslateLanguage | None = None,
) -> str:
    """Turn an article (Markdown with front matter, or JSON) and its pictures into a narrated video.

    Args:
        article: Object key of the article in the newsroom bucket (e.g. inbox/articles/bikes.md), or a path on
            the worker. Its front matter names title, standfirst, language and images (file or key, caption,
            credit); the body's paragraphs are read.
        images: Object keys (or worker paths) of the pictures, in order; they replace the files the article
            names (their captions and credits are kept). Leave empty when the article names its pictures.
        language: The article's language: auto (its front matter, else its script) or a language profile's code.
        target_s: About how long the narration runs: the paragraphs are trimmed by whole sentences to fit.
        anchor: The digital anchor reads the standfirst before the story (intro), the article's `outro` after
            it (outro), both, or none.
        condense: Let the draft model shorten paragraphs towards target_s; a shortened paragraph is used only
            when every number and name in it is the article's (else its own sentences are read).
        portrait_key: Object key of the anchor's portrait; empty for the public-domain portrait that ships.
        loudness: broadcast = EBU R128 (-23 LUFS, true peak <= -1 dBTP); web = -16 LUFS.
        translate_to: Also subtitle the video in this language (the draft model translates the cues, each timed
            on its source cue): subtitles.<language>.srt/.vtt/.ttml beside subtitles.srt. Off by default (it costs
            model time); ignored when it is the article's own language.

    Returns:
        The story id (from the article's content hash); outputs live under stories/<story id>/article/.
    """
    source = receive_article(article, list(images or []), language)
    with story_lease(source.story_id):  # one run per story at a time (tasks/lease.py)
        record_run(source.story_id, article, "running")
        narration = narrate(source, target_s, condense)
        portrait = portrait_key or None
        intro_run = anchor_read.submit(source, "intro", portrait) if anchor in ("intro", "both") else None
        outro_run = anchor_read.submit(source, "outro", portrait) if anchor in ("outro", "both") else None
        drawn = pictures(source, narration)
        cover = covers.submit(source, drawn, narration)
        intro, outro = intro_run.result() if intro_run else None, outro_run.result() if outro_run else None
        video = assemble(source, narration, drawn, intro, outro, loudness)
        if translate_to and translate_to != source.article.language:
            translate_subtitles(source.story_id, spoken_lines(source, narration, intro, outro), FPS, (), translate_to,
                                ARTICLE)
        made = cover.result()
        publish_manifest(source.story_id)
        summarise_programme(source.story_id, source.article.title, video, made.wide)
        record_run(source.story_id, article, "done")
    return source.story_id
