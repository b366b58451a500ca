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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from newsroom.article.source import Article
from newsroom.bulletin.items import BulletinItem
from newsroom.errors import ConfigError, MediaError
from newsroom.layout import BROADCAST, INGEST, StoryLayout
from newsroom.manifest import Manifest
from newsroom.storage.base import ObjectStore
from newsroom.types import MediaInfo, Transcript
from newsroom.video.highlight import EditDecision
from newsroom.video.scenes import SceneList

if TYPE_CHECKING:
    from newsroom.llm import Draft

# --------------------------------------------------------------------------- ingest


@dataclass(frozen=True, slots=True)
class IngestedMedia:
    """The normalised media as ingest recorded it (the manifest's `stages.ingest.media`)."""

    duration_s: float
    has_video: bool
    has_audio: bool
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    variable_frame_rate: bool = False
    video_copied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"duration_s": self.duration_s, "has_video": self.has_video, "has_audio": self.has_audio,
                "fps": self.fps, "width": self.width, "height": self.height,
                "variable_frame_rate": self.variable_frame_rate, "video_copied": self.video_copied}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestedMedia:
        return cls(duration_s=float(data.get("duration_s") or 0.0), has_video=bool(data.get("has_video")),
                   has_audio=bool(data.get("has_audio")), fps=data.get("fps"), width=data.get("width"),
                   height=data.get("height"), variable_frame_rate=bool(data.get("variable_frame_rate")),
                   video_copied=bool(data.get("video_copied")))


@dataclass(frozen=True, slots=True)
class SourceRef:
    """The stored source: its story, key and checksum, the name it came with, what the media gate found."""

    story_id: str
    key: str
    sha256: str
    filename: str
    info: MediaInfo
    already_ingested: bool  # the story had a manifest before this run
    audio_key: str | None = None  # 16 kHz mono speech audio; None when the source has no audio track

    def to_dict(self) -> dict[str, Any]:
        return {"story_id": self.story_id, "key": self.key, "sha256": self.sha256, "filename": self.filename,
                "info": self.info.to_dict(), "already_ingested": self.already_ingested, "audio_key": self.audio_key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceRef:
        return cls(data["story_id"], data["key"], data["sha256"], data["filename"], MediaInfo.from_dict(data["info"]),
                   bool(data["already_ingested"]), data.get("audio_key"))


@dataclass(frozen=True, slots=True)
class Story:
    """A story as its stages have recorded it so far: what the next stage starts from."""

    story_id: str
    media: IngestedMedia | None  # None until the media is normalised
    transcript: Transcript | None  # None until transcribed
    video_key: str | None  # the mezzanine video; None for an audio-only source
    draft: Draft | None = None  # the news draft, once written

    @classmethod
    def load(cls, store: ObjectStore, manifest: Manifest) -> Story:
        """The story as recorded in `manifest`; its transcript and draft read from `store`."""
        from newsroom.llm import Draft

        layout = StoryLayout(manifest.story_id)
        media = manifest.info(INGEST).get("media")
        transcript = store.get_json(layout.transcript_json) if manifest.has(layout.transcript_json) else None
        draft = store.get_json(layout.draft_json) if manifest.has(layout.draft_json) else None
        return cls(story_id=manifest.story_id, media=IngestedMedia.from_dict(media) if media else None,
                   transcript=Transcript.from_dict(transcript) if transcript else None,
                   video_key=layout.mezzanine if manifest.has(layout.mezzanine) else None,
                   draft=Draft.from_dict(draft) if draft else None)

    @property
    def language(self) -> str | None:
        """The transcript's language (None before transcription)."""
        return self.transcript.language if self.transcript else None

    def require_video(self) -> str:
        """The mezzanine video, for the stages that need pictures (MediaError for an audio-only story)."""
        if self.video_key is None:
            raise MediaError(f"story {self.story_id} has no video (audio-only source): the edit stage needs pictures")
        return self.video_key

    def to_dict(self) -> dict[str, Any]:
        return {"story_id": self.story_id, "media": self.media.to_dict() if self.media else None,
                "transcript": self.transcript.to_dict() if self.transcript else None,
                "video_key": self.video_key, "draft": self.draft.to_dict() if self.draft else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Story:
        from newsroom.llm import Draft

        return cls(story_id=data["story_id"], media=IngestedMedia.from_dict(data["media"]) if data["media"] else None,
                   transcript=Transcript.from_dict(data["transcript"]) if data["transcript"] else None,
                   video_key=data["video_key"], draft=Draft.from_dict(data["draft"]) if data.get("draft") else None)


# --------------------------------------------------------------------------- edit


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


# --------------------------------------------------------------------------- broadcast


@dataclass(frozen=True, slots=True)
class SpeechRef:
    """The anchor's voice in the store: the WAV and its timings (`Speech.to_dict`)."""

    wav_key: str
    timings_key: str

    def to_dict(self) -> dict[str, Any]:
        return {"wav_key": self.wav_key, "timings_key": self.timings_key}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeechRef:
        return cls(data["wav_key"], data["timings_key"])


@dataclass(frozen=True, slots=True)
class LoudnessReport:
    """The mastered segment measured against its profile (EBU R128 or web)."""

    profile: str
    target_lufs: float
    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "target_lufs": self.target_lufs, "integrated_lufs": self.integrated_lufs,
                "true_peak_dbtp": self.true_peak_dbtp, "lra_lu": self.lra_lu, "ok": self.ok}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoudnessReport:
        return cls(data["profile"], float(data["target_lufs"]), float(data["integrated_lufs"]),
                   float(data["true_peak_dbtp"]), float(data["lra_lu"]), bool(data["ok"]))


@dataclass(frozen=True, slots=True)
class BroadcastSegment:
    """The mastered segment (soft subtitles), its burned-in copy, its SRT and the two checks."""

    video_key: str
    burned_key: str
    srt_key: str
    loudness: LoudnessReport
    subtitles: SubtitleReport

    @property
    def keys(self) -> tuple[str, str, str]:
        return self.video_key, self.burned_key, self.srt_key

    @staticmethod
    def checks_in(manifest: Manifest) -> tuple[LoudnessReport, SubtitleReport] | None:
        """The segment's loudness and subtitle checks as the broadcast stage recorded them (None before)."""
        info = manifest.info(BROADCAST)
        if not info.get("loudness") or info.get("subtitles") is None:
            return None
        return LoudnessReport.from_dict(info["loudness"]), SubtitleReport.from_dict(info["subtitles"])

    def to_dict(self) -> dict[str, Any]:
        return {"video_key": self.video_key, "burned_key": self.burned_key, "srt_key": self.srt_key,
                "loudness": self.loudness.to_dict(), "subtitles": self.subtitles.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BroadcastSegment:
        return cls(data["video_key"], data["burned_key"], data["srt_key"], LoudnessReport.from_dict(data["loudness"]),
                   SubtitleReport.from_dict(data["subtitles"]))


# --------------------------------------------------------------------------- article and bulletin stories


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
