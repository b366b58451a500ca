"""What the edit hands on: the highlight, the subtitles and their report, the covers, the translated track;
and the finished edit as the steps after it read it back (`Cut`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newsroom.errors import ConfigError
from newsroom.layout import StoryLayout
from newsroom.manifest import Manifest
from newsroom.storage.base import ObjectStore
from newsroom.types import Transcript
from newsroom.video.highlight import EditDecision
from newsroom.video.scenes import SceneList


@dataclass(frozen=True, slots=True)
class Highlight:
    """The rendered highlight: its video, the decision behind it and the transcript on its timeline."""

    video_key: str
    decision: EditDecision
    transcript: Transcript | None  # None when the story has no speech

    def to_dict(self) -> dict[str, Any]:
        return {"video_key": self.video_key, "decision": self.decision.to_dict(),
                "transcript": self.transcript.to_dict() if self.transcript else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Highlight:
        return cls(data["video_key"], EditDecision.from_dict(data["decision"]),
                   Transcript.from_dict(data["transcript"]) if data["transcript"] else None)


@dataclass(frozen=True, slots=True)
class Cut:
    """The finished edit as the steps after it use it: the covers' picture and scenes, the segment's story."""

    picture_key: str  # what the edit cut from: restored.mp4 when restoration ran, else the mezzanine
    scenes: SceneList
    video_key: str  # the highlight: upscaled.mp4 when it was upscaled, else edit-clean.mp4
    decision: EditDecision
    transcript: Transcript | None  # on the highlight's timeline; None when the story has no speech

    @classmethod
    def load(cls, store: ObjectStore, manifest: Manifest) -> Cut:
        """The edit as recorded in `manifest`, its decision, scenes and retimed transcript read from `store`;
        ConfigError when the story has no finished edit."""
        layout = StoryLayout(manifest.story_id)

        def recorded(*keys: str) -> str | None:
            return next((k for k in keys if manifest.has(k)), None)

        picture, video = recorded(layout.restored, layout.mezzanine), recorded(layout.upscaled, layout.edit_clean)
        if not picture or not video or not recorded(layout.edit_decision) or not recorded(layout.scenes):
            raise ConfigError(f"story {manifest.story_id} has no finished edit: run the edit flow "
                              f"(newsroom edit {manifest.story_id}) first")
        transcript = recorded(layout.edit_transcript)
        return cls(picture, SceneList.from_dict(store.get_json(layout.scenes)), video,
                   EditDecision.from_dict(store.get_json(layout.edit_decision)),
                   Transcript.from_dict(store.get_json(transcript)) if transcript else None)

    def to_dict(self) -> dict[str, Any]:
        return {"picture_key": self.picture_key, "scenes": self.scenes.to_dict(), "video_key": self.video_key,
                "decision": self.decision.to_dict(),
                "transcript": self.transcript.to_dict() if self.transcript else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cut:
        return cls(data["picture_key"], SceneList.from_dict(data["scenes"]), data["video_key"],
                   EditDecision.from_dict(data["decision"]),
                   Transcript.from_dict(data["transcript"]) if data["transcript"] else None)


@dataclass(frozen=True, slots=True)
class SubtitleReport:
    """How cues keep the subtitle rules: `violations` in all and per rule; `cues` when counted; the words
    Whisper was unsure of ("possible mis-hearing: ... at 0:03", `newsroom.asr.confidence`) for the editor."""

    ok: bool
    violations: int
    by_rule: dict[str, int]
    cues: int | None = None
    possible_mishearings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "violations": self.violations, "by_rule": dict(self.by_rule)}
        if self.possible_mishearings:
            data["possible_mishearings"] = list(self.possible_mishearings)
        return data if self.cues is None else {"cues": self.cues, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubtitleReport:
        return cls(ok=bool(data["ok"]), violations=int(data["violations"]), by_rule=dict(data.get("by_rule", {})),
                   cues=int(data["cues"]) if data.get("cues") is not None else None,
                   possible_mishearings=tuple(data.get("possible_mishearings", ())))


@dataclass(frozen=True, slots=True)
class Subtitles:
    """The edit's subtitle files (SRT, WebVTT, EBU-TT-D) and the rule report."""

    srt_key: str
    vtt_key: str
    ttml_key: str
    report_key: str
    report: SubtitleReport

    def to_dict(self) -> dict[str, Any]:
        return {"srt_key": self.srt_key, "vtt_key": self.vtt_key, "ttml_key": self.ttml_key,
                "report_key": self.report_key, "report": self.report.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Subtitles:
        return cls(data["srt_key"], data["vtt_key"], data["ttml_key"], data["report_key"],
                   SubtitleReport.from_dict(data["report"]))


@dataclass(frozen=True, slots=True)
class Covers:
    """The covers (16:9, 9:16, 1:1) and the headline drawn on them."""

    keys: tuple[str, ...]
    headline: str
    superres: bool  # the frame went through Real-ESRGAN x4plus first (a small source)

    @property
    def wide(self) -> str | None:
        """The 16:9 cover (what the artifacts show)."""
        return next((k for k in self.keys if k.endswith(StoryLayout.cover_16x9.name)), None)

    def to_dict(self) -> dict[str, Any]:
        return {"keys": list(self.keys), "headline": self.headline, "superres": self.superres}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Covers:
        return cls(tuple(data["keys"]), data["headline"], bool(data["superres"]))


@dataclass(frozen=True, slots=True)
class TranslatedSubtitles:
    """The edit's subtitles translated into a second language (`translate_to`): SRT, WebVTT, EBU-TT-D named
    with the language ("subtitles.en.srt"), both languages' cues for the burned bilingual version, and the
    report (rules broken, cues held back for a number that did not match, names to check)."""

    language: str
    srt_key: str
    vtt_key: str
    ttml_key: str
    cues_key: str  # JSON: {"source": [...], "translation": [...]} cues with times and lines
    report_key: str
    held: int  # cues published without a translation (a number that did not match the source)

    def to_dict(self) -> dict[str, Any]:
        return {"language": self.language, "srt_key": self.srt_key, "vtt_key": self.vtt_key,
                "ttml_key": self.ttml_key, "cues_key": self.cues_key, "report_key": self.report_key,
                "held": self.held}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TranslatedSubtitles:
        return cls(data["language"], data["srt_key"], data["vtt_key"], data["ttml_key"], data["cues_key"],
                   data["report_key"], int(data["held"]))
