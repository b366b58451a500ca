"""What the broadcast stage hands on (besides the draft, `newsroom.llm.Draft`): the anchor's voice and the
mastered segment with its loudness and subtitle checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newsroom.layout import BROADCAST
from newsroom.manifest import Manifest
from newsroom.results.edit import SubtitleReport


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
