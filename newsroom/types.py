"""Typed results shared across the library: frozen dataclasses, never loose dicts.

`Transcript.to_dict()` is a published contract read by later stages and by tools outside the code:
    {"language": "en", "duration_s": 12.3, "model": "whisper-base-int8", "text": "...",
     "segments": [{"start": 0.0, "end": 2.1, "text": "...", "speaker": "S1",
                   "words": [{"start": 0.0, "end": 0.4, "word": "Good", "probability": 0.98,
                              "speaker": "S1"}]}]}
"speaker" ("S1", "S2", ... in order of first appearance; every word of a segment has the segment's) is
there when speaker turns were computed (`newsroom.asr.speakers`, on by default) and absent when they were
not (NEWSROOM_DIARIZE=false, transcripts made before): readers treat a missing key as "unknown".
Quotes in a draft are taken from this transcript's sentences (numbered by `newsroom.llm.sentences`, ids
from 1) with their words, times and speaker (the name the transcript gives, or None): see
`newsroom.llm.quotes.Quote` and `newsroom.llm.selection`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------- transcripts


@dataclass(frozen=True, slots=True)
class Word:
    start: float
    end: float
    word: str
    probability: float
    speaker: str | None = None  # "S1", "S2", ...; None when speaker turns were not computed


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None  # the speaker of every word in the segment (None: not computed)


@dataclass(frozen=True, slots=True)
class Transcript:
    language: str
    duration_s: float
    model: str
    segments: tuple[Segment, ...] = ()

    @property
    def text(self) -> str:
        from newsroom.lang import joiner

        return joiner(self.language).join(s.text for s in self.segments if s.text)

    @property
    def is_empty(self) -> bool:
        return not self.segments

    @property
    def speakers(self) -> tuple[str, ...]:
        """The speakers heard, in order of first appearance (empty when turns were not computed)."""
        return tuple(dict.fromkeys(s.speaker for s in self.segments if s.speaker))

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "duration_s": round(self.duration_s, 3),
            "model": self.model,
            "text": self.text,
            "segments": [
                {
                    "start": round(s.start, 3),
                    "end": round(s.end, 3),
                    "text": s.text,
                    **({"speaker": s.speaker} if s.speaker else {}),
                    "words": [
                        {
                            "start": round(w.start, 3),
                            "end": round(w.end, 3),
                            "word": w.word,
                            "probability": round(w.probability, 4),
                            **({"speaker": w.speaker} if w.speaker else {}),
                        }
                        for w in s.words
                    ],
                }
                for s in self.segments
            ],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(
            language=data["language"],
            duration_s=float(data["duration_s"]),
            model=data["model"],
            segments=tuple(
                Segment(
                    start=float(s["start"]),
                    end=float(s["end"]),
                    text=s["text"],
                    words=tuple(
                        Word(start=float(w["start"]), end=float(w["end"]), word=w["word"],
                             probability=float(w["probability"]), speaker=w.get("speaker"))
                        for w in s.get("words", ())
                    ),
                    speaker=s.get("speaker"),
                )
                for s in data.get("segments", ())
            ),
        )

    def to_text(self) -> str:
        """Plain text, one segment per line with its start time (and speaker, when there are several):
        for people and search indexes."""
        lines = []
        several = len(self.speakers) > 1
        for s in self.segments:
            minutes, seconds = divmod(s.start, 60)
            who = f"{s.speaker or '?'}: " if several else ""
            lines.append(f"[{int(minutes):02d}:{seconds:05.2f}] {who}{s.text}")
        return "\n".join(lines) + ("\n" if lines else "")


# --------------------------------------------------------------------------- media


@dataclass(frozen=True, slots=True)
class StreamInfo:
    index: int
    kind: str  # "video" | "audio" | "subtitle" | "data"
    codec: str
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    avg_fps: float | None = None
    pix_fmt: str | None = None
    field_order: str | None = None
    sample_rate_hz: int | None = None
    channels: int | None = None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    path: str
    format_name: str
    duration_s: float
    size_bytes: int
    bit_rate: int | None
    streams: tuple[StreamInfo, ...] = ()
    stream_count: int = 0  # every stream in the container, attached pictures and data included

    @property
    def video(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        return next((s for s in self.streams if s.kind == "audio"), None)

    @property
    def has_video(self) -> bool:
        return self.video is not None

    @property
    def has_audio(self) -> bool:
        return self.audio is not None

    @property
    def is_variable_frame_rate(self) -> bool:
        v = self.video
        if v is None or not v.fps or not v.avg_fps:
            return False
        return abs(v.fps - v.avg_fps) / v.fps > 0.01

    @property
    def is_interlaced(self) -> bool:
        v = self.video
        return bool(v and v.field_order and v.field_order not in ("progressive", "unknown"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaInfo:
        return cls(**{**data, "streams": tuple(StreamInfo(**s) for s in data.get("streams", ()))})


# --------------------------------------------------------------------------- storage


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size_bytes: int
    content_type: str = "application/octet-stream"
    etag: str | None = None
    last_modified: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelRef:
    id: str
    version: str


@dataclass(frozen=True, slots=True)
class Asset:
    """One entry of a story's manifest."""

    key: str
    sha256: str
    bytes: int
    media_type: str
    step: str
    model: ModelRef | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Asset:
        model = data.get("model")
        return cls(
            key=data["key"],
            sha256=data["sha256"],
            bytes=int(data["bytes"]),
            media_type=data["media_type"],
            step=data["step"],
            model=ModelRef(**model) if model else None,
        )


# --------------------------------------------------------------------------- speech


@dataclass(frozen=True, slots=True)
class PhonemeTiming:
    """One phoneme (as the engine spells it, e.g. espeak IPA for piper) and when it sounds."""

    phoneme: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class WordTiming:
    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Speech:
    """Synthesised speech: a WAV file plus whatever timings the engine gives (empty when none)."""

    path: str
    sample_rate_hz: int
    duration_s: float
    language: str
    engine: str
    text: str
    phonemes: tuple[PhonemeTiming, ...] = ()
    words: tuple[WordTiming, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The timings document stored beside the WAV (`path` is local to one machine, so it is left out)."""
        data = asdict(self)
        data.pop("path")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str | Path) -> Speech:
        """The speech `to_dict` described, its WAV now at `path`."""
        return cls(path=str(path), sample_rate_hz=int(data["sample_rate_hz"]), duration_s=float(data["duration_s"]),
                   language=data["language"], engine=data["engine"], text=data["text"],
                   phonemes=tuple(PhonemeTiming(**p) for p in data.get("phonemes", ())),
                   words=tuple(WordTiming(**w) for w in data.get("words", ())))


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in pixels: (x, y) is the top-left corner, y down (faces, crops, on-screen graphics)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    @property
    def area(self) -> int:
        return max(0, self.w) * max(0, self.h)

    def intersects(self, other: Box) -> bool:
        """True when the two boxes share any pixel (touching edges do not)."""
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom

    def contains(self, other: Box) -> bool:
        """True when `other` lies entirely inside this box (edges included)."""
        return (
            other.x >= self.x and other.y >= self.y
            and other.right <= self.right and other.bottom <= self.bottom
        )

    def scaled(self, factor: float) -> Box:
        return Box(round(self.x * factor), round(self.y * factor), round(self.w * factor), round(self.h * factor))

    def shifted(self, dx: int, dy: int) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)
