"""What each stage hands on: typed results, each with `to_dict`/`from_dict`.

Tasks return these and flows pass them on; nothing that crosses a task or a flow is a loose dict. A stage
that ran somewhere else (a deployment on another work pool) left its results in the store: `Story.load`
and `Cut.load` read them back from what the stages recorded (the manifest view) and the files the layout
names.

    ingest      -> SourceRef, IngestedMedia, Transcript; later stages read the story back as a Story
    edit        -> Highlight, Subtitles, Covers; later stages read the edit back as a Cut
    broadcast   -> Draft (newsroom.llm), SpeechRef, BroadcastSegment (LoudnessReport, SubtitleReport)

An article story: ArticleSource -> NarrationRef, AnchorRead, ArticlePictures -> Programme (and Covers); a
bulletin story: the items -> AnchorRead per item -> Programme.

One module a stage: `ingest.py` (and `Story`), `edit.py` (and `Cut`, `TranslatedSubtitles`), `broadcast.py`,
`programme.py` (article and bulletin stories); import them from here.
"""

from newsroom.results.broadcast import BroadcastSegment, LoudnessReport, SpeechRef
from newsroom.results.edit import Covers, Cut, Highlight, SubtitleReport, Subtitles, TranslatedSubtitles
from newsroom.results.ingest import IngestedMedia, SourceRef, Story
from newsroom.results.programme import (
    AnchorRead,
    ArticlePictures,
    ArticleSource,
    BulletinSource,
    NarrationRef,
    Programme,
)

__all__ = [
    "AnchorRead",
    "ArticlePictures",
    "ArticleSource",
    "BroadcastSegment",
    "BulletinSource",
    "Covers",
    "Cut",
    "Highlight",
    "IngestedMedia",
    "LoudnessReport",
    "NarrationRef",
    "Programme",
    "SourceRef",
    "SpeechRef",
    "Story",
    "SubtitleReport",
    "Subtitles",
    "TranslatedSubtitles",
]
