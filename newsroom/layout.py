"""Where everything of one story lives: the one table of a story's object keys.

Every key a stage writes or reads, the files handed out (`newsroom run --out`, the webhook's links, the
story artifact) and the manifest's place come from the table in `StoryLayout`; nothing else spells a key
under `stories/<story_id>/`.

    layout = StoryLayout(story_id)
    layout.transcript_json        # "stories/<story_id>/ingest/transcript.json"
    StoryLayout.transcript_json   # File("ingest", "transcript.json", handout=True): the row itself
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, replace
from typing import Any, overload

from newsroom.lang import CODES
from newsroom.storage.keys import story_key, story_prefix, validate_story_id

# The stages: each writes under its own folder and records what it wrote in that folder's fragment.
SOURCE = "source"
INGEST = "ingest"
EDIT = "edit"
BROADCAST = "broadcast"
ARTICLE = "article"  # an article story (newsroom/article): text and pictures in, a narrated video out
BULLETIN = "bulletin"  # a bulletin story (newsroom/bulletin): items of text in, a presented read out
# What each kind of story goes through: its stages' handed-out files are the story's deliverables.
FOOTAGE_ROUTE = (INGEST, EDIT, BROADCAST)
ARTICLE_ROUTE = (ARTICLE,)
BULLETIN_ROUTE = (BULLETIN,)
FRAGMENT_NAME = "assets.json"  # a stage's one-file manifest fragment of older stories (read, never written)
RECORDS_FOLDER = "records"  # a stage's manifest records: one object per write (see newsroom/manifest.py)
SUBTITLE_FORMATS = ("srt", "vtt", "ttml")  # every stage that makes subtitles hands out subtitles.<format>
COVER_ASPECTS = ("16x9", "9x16", "1x1")  # every stage that makes covers hands out cover-<aspect>.png


@dataclass(frozen=True, slots=True)
class File:
    """One row of the table: a file's stage folder (None: the story's own folder) and name; `handout` marks
    the finished files people get (copied by `newsroom run --out`, linked by the webhook and the artifact);
    `optional` a handout only some runs make (handed out where the story's manifest lists it)."""

    stage: str | None
    name: str
    handout: bool = False
    optional: bool = False

    @property
    def relative(self) -> str:
        """The key below `stories/<story_id>/`, e.g. "edit/edit.mp4"."""
        return f"{self.stage}/{self.name}" if self.stage else self.name

    @overload
    def __get__(self, layout: None, owner: type | None = None) -> File: ...

    @overload
    def __get__(self, layout: StoryLayout, owner: type | None = None) -> str: ...

    def __get__(self, layout: Any, owner: type | None = None) -> File | str:
        return self if layout is None else layout.key(self)


def _subtitles(stage: str) -> tuple[File, ...]:
    """A stage's subtitle files, one per `SUBTITLE_FORMATS` (subtitles.srt, .vtt, .ttml), handed out."""
    return tuple(File(stage, f"subtitles.{fmt}", handout=True) for fmt in SUBTITLE_FORMATS)


def _covers(stage: str) -> tuple[File, ...]:
    """A stage's covers, one per `COVER_ASPECTS` (cover-16x9.png, ...), handed out."""
    return tuple(File(stage, f"cover-{aspect}.png", handout=True) for aspect in COVER_ASPECTS)


class StoryLayout:
    """The object keys of one story. Read as a class, an attribute is its row (a `File`); read on an
    instance, the story's key."""

    # ingest/ (the source itself: `source(suffix)`, it keeps its own file type)
    mezzanine = File(INGEST, "mezzanine.mp4")  # H.264 + AAC, constant frame rate
    mezzanine_audio = File(INGEST, "mezzanine.m4a")  # the mezzanine of an audio-only source
    proxy = File(INGEST, "proxy.mp4")
    audio = File(INGEST, "audio-16k.wav")  # 16 kHz mono speech audio for the ASR
    transcript_json = File(INGEST, "transcript.json", handout=True)
    transcript_txt = File(INGEST, "transcript.txt", handout=True)
    # edit/ (upscaling chunks in between: `upscale_chunk(index)`, removed once joined)
    scenes = File(EDIT, "scenes.json")
    restored = File(EDIT, "restored.mp4")
    edit_clean = File(EDIT, "edit-clean.mp4")
    edit_decision = File(EDIT, "edit-decision.json")
    edit_transcript = File(EDIT, "transcript-edit.json")  # the transcript on the edit's timeline
    otio = File(EDIT, "highlight.otio", handout=True)
    edl = File(EDIT, "highlight.edl", handout=True)
    upscaled = File(EDIT, "upscaled.mp4")
    subtitles_srt, subtitles_vtt, subtitles_ttml = _subtitles(EDIT)
    subtitles_report = File(EDIT, "subtitles-report.json")
    # A second language (the edit's `translate_to`): `translated_subtitles(language, fmt)` beside these.
    bilingual_cues = File(EDIT, "subtitles-bilingual.json")
    translated_report = File(EDIT, "subtitles-translated-report.json")
    edit_bilingual = File(EDIT, "edit-bilingual.mp4", handout=True, optional=True)  # both languages burned in
    edit = File(EDIT, "edit.mp4", handout=True)
    edit_burned = File(EDIT, "edit-burned.mp4", handout=True)
    edit_vertical = File(EDIT, "edit-vertical.mp4", handout=True)
    cover_16x9, cover_9x16, cover_1x1 = _covers(EDIT)
    # broadcast/
    draft_json = File(BROADCAST, "draft.json", handout=True)
    draft_md = File(BROADCAST, "draft.md", handout=True)
    anchor_wav = File(BROADCAST, "anchor.wav", handout=True)
    anchor_speech = File(BROADCAST, "anchor-speech.json")  # the voice's phoneme and word timings
    anchor_mp4 = File(BROADCAST, "anchor.mp4", handout=True)
    broadcast = File(BROADCAST, "broadcast.mp4", handout=True)
    broadcast_burned = File(BROADCAST, "broadcast-burned.mp4", handout=True)
    broadcast_srt = File(BROADCAST, "broadcast.srt")
    # article/ (an article story: `article_original(suffix)` and `article_image(n, suffix)` are the article and
    # its pictures as received)
    article_json = File(ARTICLE, "article.json")  # the article as read: title, standfirst, paragraphs, images
    narration_wav = File(ARTICLE, "narration.wav", handout=True)
    narration_speech = File(ARTICLE, "narration-speech.json")  # what is read, word timings, paragraph spans
    article_anchor_intro = File(ARTICLE, "anchor-intro.mp4")  # the anchor reads the standfirst
    article_anchor_outro = File(ARTICLE, "anchor-outro.mp4")
    article_intro_speech = File(ARTICLE, "anchor-intro.json")  # the anchor parts' speech timings
    article_outro_speech = File(ARTICLE, "anchor-outro.json")
    article_pictures = File(ARTICLE, "pictures.mp4")  # the narrated pictures, 16:9, no sound, no text
    article_pictures_vertical = File(ARTICLE, "pictures-vertical.mp4")
    article_shots = File(ARTICLE, "shots.json")  # which picture when, its plate and window, faces found
    article_srt, article_vtt, article_ttml = _subtitles(ARTICLE)
    article_subtitles_report = File(ARTICLE, "subtitles-report.json")
    article_bilingual_cues = File(ARTICLE, "subtitles-bilingual.json")  # with `translate_to`, as the edit's
    article_translated_report = File(ARTICLE, "subtitles-translated-report.json")
    article_mp4 = File(ARTICLE, "article.mp4", handout=True)
    article_burned = File(ARTICLE, "article-burned.mp4", handout=True)
    article_vertical = File(ARTICLE, "article-vertical.mp4", handout=True)
    article_otio = File(ARTICLE, "article.otio", handout=True)
    article_edl = File(ARTICLE, "article.edl", handout=True)
    article_cover_16x9, article_cover_9x16, article_cover_1x1 = _covers(ARTICLE)
    # bulletin/ (a bulletin story: `bulletin_item(n, suffix)` are each item's anchor read and timings)
    bulletin_items = File(BULLETIN, "items.json")  # the items as read: headline, text, language
    bulletin_sting = File(BULLETIN, "sting.mp4")  # the transition between items
    bulletin_srt, bulletin_vtt, bulletin_ttml = _subtitles(BULLETIN)
    bulletin_subtitles_report = File(BULLETIN, "subtitles-report.json")
    bulletin_bilingual_cues = File(BULLETIN, "subtitles-bilingual.json")  # with `translate_to`, as the edit's
    bulletin_translated_report = File(BULLETIN, "subtitles-translated-report.json")
    bulletin_mp4 = File(BULLETIN, "bulletin.mp4", handout=True)
    bulletin_burned = File(BULLETIN, "bulletin-burned.mp4", handout=True)
    bulletin_otio = File(BULLETIN, "bulletin.otio", handout=True)
    bulletin_edl = File(BULLETIN, "bulletin.edl", handout=True)
    # the story's own folder: every asset above, written last
    manifest = File(None, "manifest.json", handout=True)

    # By format and by aspect (as newsroom.covers names them).
    SUBTITLES = dict(zip(SUBTITLE_FORMATS, (subtitles_srt, subtitles_vtt, subtitles_ttml), strict=True))
    COVERS = dict(zip(COVER_ASPECTS, (cover_16x9, cover_9x16, cover_1x1), strict=True))
    ARTICLE_SUBTITLES = dict(zip(SUBTITLE_FORMATS, (article_srt, article_vtt, article_ttml), strict=True))
    ARTICLE_COVERS = dict(zip(COVER_ASPECTS, (article_cover_16x9, article_cover_9x16, article_cover_1x1), strict=True))
    BULLETIN_SUBTITLES = dict(zip(SUBTITLE_FORMATS, (bulletin_srt, bulletin_vtt, bulletin_ttml), strict=True))
    # A stage's subtitles by format, which `translate_to` translates beside them (`translated_subtitles`), and
    # the translation's own files: both languages' cues (for a bilingual burn) and its report.
    STAGE_SUBTITLES = {EDIT: SUBTITLES, ARTICLE: ARTICLE_SUBTITLES, BULLETIN: BULLETIN_SUBTITLES}
    TRANSLATION_FILES = {EDIT: (bilingual_cues, translated_report),
                         ARTICLE: (article_bilingual_cues, article_translated_report),
                         BULLETIN: (bulletin_bilingual_cues, bulletin_translated_report)}

    __slots__ = ("story_id",)

    def __init__(self, story_id: str) -> None:
        self.story_id = validate_story_id(story_id)

    def __repr__(self) -> str:
        return f"StoryLayout({self.story_id!r})"

    @classmethod
    def files(cls) -> dict[str, File]:
        """The table: every named file, in the order the stages write them."""
        return {name: value for name, value in vars(cls).items() if isinstance(value, File)}

    @property
    def prefix(self) -> str:
        """`stories/<story_id>/`: everything of the story lies below it."""
        return story_prefix(self.story_id)

    def key(self, file: File) -> str:
        return self.prefix + file.name if file.stage is None else story_key(self.story_id, file.stage, file.name)

    def source(self, suffix: str) -> str:
        """The stored source: `source/original<suffix>` (its own file type)."""
        return story_key(self.story_id, SOURCE, f"original{suffix}")

    def upscale_chunk(self, index: int) -> str:
        """Scratch space shared by the upscaling workers: one chunk, deleted once the chunks are joined."""
        return story_key(self.story_id, EDIT, f"upscale/chunk-{index:04d}.mp4")

    def article_original(self, suffix: str) -> str:
        """The article as received: `article/original<suffix>` (.md or .json)."""
        return story_key(self.story_id, ARTICLE, f"original{suffix}")

    def article_image(self, number: int, suffix: str) -> str:
        """An article's picture as received: `article/images/<nn><suffix>` (1-based, in the article's order)."""
        return story_key(self.story_id, ARTICLE, f"images/{number:02d}{suffix}")

    def bulletin_item(self, number: int, suffix: str) -> str:
        """One bulletin item's anchor read (`.mp4`) or its timings (`.json`): `bulletin/items/<nn><suffix>`."""
        return story_key(self.story_id, BULLETIN, f"items/{number:02d}{suffix}")

    def fragment(self, stage: str) -> str:
        """The stage's one-file manifest fragment, as stories stored before records had it (read only)."""
        return story_key(self.story_id, stage, FRAGMENT_NAME)

    def record(self, stage: str, name: str) -> str:
        """One manifest record of the stage: what one task wrote (its assets and info), written once, whole."""
        return story_key(self.story_id, stage, f"{RECORDS_FOLDER}/{name}")

    def is_bookkeeping(self, key: str) -> bool:
        """Whether `key` is the manifest, a record or a fragment (the story's bookkeeping, not an asset)."""
        relative = key.removeprefix(self.prefix).split("/")
        return (relative == [self.__class__.manifest.name]
                or (len(relative) == 2 and relative[1] == FRAGMENT_NAME)
                or (len(relative) == 3 and relative[1] == RECORDS_FOLDER))

    def subtitles(self, fmt: str) -> str:
        return self.key(self.SUBTITLES[fmt])

    def translated_subtitles(self, language: str, fmt: str, stage: str = EDIT) -> str:
        """The stage's subtitles translated into `language`: e.g. `edit/subtitles.<language>.<fmt>`."""
        return self.key(translated(self.STAGE_SUBTITLES[stage][fmt], language))

    def cover(self, aspect: str) -> str:
        return self.key(self.COVERS[aspect])

    def handouts(self, route: tuple[str, ...] = FOOTAGE_ROUTE, listed: Container[str] | None = None) -> dict[str, str]:
        """Key -> file name of every finished file people get from a story of `route` (a footage story by
        default; `ARTICLE_ROUTE`, `BULLETIN_ROUTE`), in the table's order; the manifest belongs to every route.

        Without `listed`, the files every such story has; with `listed` (the keys the story's manifest lists),
        the files it lists, optional ones too, and after each subtitle file its translations that it lists
        (`subtitles.<language>.<fmt>`, made with `translate_to`)."""
        out = {}
        for file in self.files().values():
            if not file.handout or (file.stage is not None and file.stage not in route):
                continue
            rows = [file] if listed is None or file not in _TRANSLATABLE else [
                file, *(translated(file, code) for code in CODES)]
            for row in rows:
                key = self.key(row)
                if row == StoryLayout.manifest or (not row.optional if listed is None else key in listed):
                    out[key] = row.name
        return out


def translated(file: File, language: str) -> File:
    """The row of `file` (a stage's subtitles) translated into `language`: "subtitles.srt" -> "subtitles.en.srt"."""
    stem, _, suffix = file.name.rpartition(".")
    return replace(file, name=f"{stem}.{language}.{suffix}")


# The subtitle rows a translation sits beside (see StoryLayout.STAGE_SUBTITLES).
_TRANSLATABLE = frozenset(file for table in StoryLayout.STAGE_SUBTITLES.values() for file in table.values())


def deliverables(route: tuple[str, ...]) -> dict[str, str]:
    """The handed-out files of a story of `route` below `stories/<story_id>/` and their names."""
    return {file.relative: file.name for file in StoryLayout.files().values()
            if file.handout and not file.optional and (file.stage is None or file.stage in route)}


# The handed-out files below `stories/<story_id>/` and their names, for code that has no story id at hand.
DELIVERABLES = deliverables(FOOTAGE_ROUTE)  # a footage story's
ARTICLE_DELIVERABLES = deliverables(ARTICLE_ROUTE)
BULLETIN_DELIVERABLES = deliverables(BULLETIN_ROUTE)
