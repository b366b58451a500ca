"""What ingest hands on (`SourceRef`, `IngestedMedia`; the `Transcript` is `newsroom.types`'), and a story as
its stages have recorded it so far (`Story`), read back from the store by the stages after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from newsroom.errors import MediaError
from newsroom.layout import INGEST, StoryLayout
from newsroom.manifest import Manifest
from newsroom.storage.base import ObjectStore
from newsroom.types import MediaInfo, Transcript

if TYPE_CHECKING:
    from newsroom.llm import Draft


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
