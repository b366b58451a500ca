"""What the steps of an article or a bulletin story hand on: the source as read, the narration and anchor
reads, the article's pictures, and the finished `Programme`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newsroom.article.source import Article
from newsroom.bulletin.items import BulletinItem
from newsroom.results.broadcast import LoudnessReport
from newsroom.results.edit import Subtitles


@dataclass(frozen=True, slots=True)
class ArticleSource:
    """A received article: its story, the article as read and its pictures' keys in the story, in order."""

    story_id: str
    article: Article
    image_keys: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"story_id": self.story_id, "article": self.article.to_dict(), "image_keys": list(self.image_keys)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArticleSource:
        return cls(data["story_id"], Article.from_dict(data["article"]), tuple(data["image_keys"]))


@dataclass(frozen=True, slots=True)
class NarrationRef:
    """The narration in the store: the WAV and its timings document (`Narration.to_dict`)."""

    wav_key: str
    timings_key: str
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"wav_key": self.wav_key, "timings_key": self.timings_key, "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NarrationRef:
        return cls(data["wav_key"], data["timings_key"], float(data["duration_s"]))


@dataclass(frozen=True, slots=True)
class AnchorRead:
    """An anchor part (an article's intro or outro, a bulletin item): the video, its speech timings key
    (`Speech.to_dict`) and its length."""

    video_key: str
    timings_key: str
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"video_key": self.video_key, "timings_key": self.timings_key, "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnchorRead:
        return cls(data["video_key"], data["timings_key"], float(data["duration_s"]))


@dataclass(frozen=True, slots=True)
class ArticlePictures:
    """The narrated picture tracks (16:9 and 9:16) and the shot plan behind them."""

    wide_key: str
    vertical_key: str
    shots_key: str

    def to_dict(self) -> dict[str, Any]:
        return {"wide_key": self.wide_key, "vertical_key": self.vertical_key, "shots_key": self.shots_key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArticlePictures:
        return cls(data["wide_key"], data["vertical_key"], data["shots_key"])


@dataclass(frozen=True, slots=True)
class Programme:
    """A finished programme (an article video or a bulletin): soft-subtitled and burned copies, the 9:16
    version when there is one, subtitles, timeline, and the checks."""

    video_key: str
    burned_key: str
    vertical_key: str | None
    subtitles: Subtitles
    otio_key: str
    edl_key: str
    loudness: LoudnessReport
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"video_key": self.video_key, "burned_key": self.burned_key, "vertical_key": self.vertical_key,
                "subtitles": self.subtitles.to_dict(), "otio_key": self.otio_key, "edl_key": self.edl_key,
                "loudness": self.loudness.to_dict(), "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Programme:
        return cls(data["video_key"], data["burned_key"], data.get("vertical_key"),
                   Subtitles.from_dict(data["subtitles"]), data["otio_key"], data["edl_key"],
                   LoudnessReport.from_dict(data["loudness"]), float(data["duration_s"]))


@dataclass(frozen=True, slots=True)
class BulletinSource:
    """A bulletin's items as read, its language and its story."""

    story_id: str
    language: str
    items: tuple[BulletinItem, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"story_id": self.story_id, "language": self.language, "items": [i.to_dict() for i in self.items]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BulletinSource:
        return cls(data["story_id"], data["language"], tuple(BulletinItem.from_dict(i) for i in data["items"]))
