"""Where everything of one story lives: the one table of a story's object keys.

Every key a stage writes or reads, the files handed out (`newsroom run --out`, the webhook's links, the
story artifact) and the manifest's place come from the table in `StoryLayout`; nothing else spells a key
under `stories/<story_id>/`.

    layout = StoryLayout(story_id)
    layout.transcript_json        # "stories/<story_id>/ingest/transcript.json"
    StoryLayout.transcript_json   # File("ingest", "transcript.json", handout=True): the row itself
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

from newsroom.storage.keys import story_key, story_prefix, validate_story_id

# The stages: each writes under its own folder and records what it wrote in that folder's fragment.
SOURCE = "source"
INGEST = "ingest"
EDIT = "edit"
BROADCAST = "broadcast"
FRAGMENT_NAME = "assets.json"  # a stage's one-file manifest fragment of older stories (read, never written)
RECORDS_FOLDER = "records"  # a stage's manifest records: one object per write (see newsroom/manifest.py)


@dataclass(frozen=True, slots=True)
class File:
    """One row of the table: a file's stage folder (None: the story's own folder) and name; `handout` marks
    the finished files people get (copied by `newsroom run --out`, linked by the webhook and the artifact)."""

    stage: str | None
    name: str
    handout: bool = False

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
    subtitles_srt = File(EDIT, "subtitles.srt", handout=True)
    subtitles_vtt = File(EDIT, "subtitles.vtt", handout=True)
    subtitles_ttml = File(EDIT, "subtitles.ttml", handout=True)
    subtitles_report = File(EDIT, "subtitles-report.json")
    edit = File(EDIT, "edit.mp4", handout=True)
    edit_burned = File(EDIT, "edit-burned.mp4", handout=True)
    edit_vertical = File(EDIT, "edit-vertical.mp4", handout=True)
    cover_16x9 = File(EDIT, "cover-16x9.png", handout=True)
    cover_9x16 = File(EDIT, "cover-9x16.png", handout=True)
    cover_1x1 = File(EDIT, "cover-1x1.png", handout=True)
    # broadcast/
    draft_json = File(BROADCAST, "draft.json", handout=True)
    draft_md = File(BROADCAST, "draft.md", handout=True)
    anchor_wav = File(BROADCAST, "anchor.wav", handout=True)
    anchor_speech = File(BROADCAST, "anchor-speech.json")  # the voice's phoneme and word timings
    anchor_mp4 = File(BROADCAST, "anchor.mp4", handout=True)
    broadcast = File(BROADCAST, "broadcast.mp4", handout=True)
    broadcast_burned = File(BROADCAST, "broadcast-burned.mp4", handout=True)
    broadcast_srt = File(BROADCAST, "broadcast.srt")
    # the story's own folder: every asset above, written last
    manifest = File(None, "manifest.json", handout=True)

    SUBTITLES = {"srt": subtitles_srt, "vtt": subtitles_vtt, "ttml": subtitles_ttml}
    COVERS = {"16x9": cover_16x9, "9x16": cover_9x16, "1x1": cover_1x1}  # by aspect, as newsroom.covers names them

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

    def cover(self, aspect: str) -> str:
        return self.key(self.COVERS[aspect])

    def handouts(self) -> dict[str, str]:
        """Key -> file name of every finished file people get, in the table's order."""
        return {self.key(file): file.name for file in self.files().values() if file.handout}


# The handed-out files below `stories/<story_id>/` and their names, for code that has no story id at hand.
DELIVERABLES = {file.relative: file.name for file in StoryLayout.files().values() if file.handout}
