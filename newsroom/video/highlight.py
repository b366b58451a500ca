"""Highlight edits: choose sentences for a target length, snap cuts, render frame-exactly.

Cut points sit on sentence boundaries (never inside a word: a cut may not cross the neighbouring
word's timestamps) and move onto a nearby scene cut when one is close, so pictures change where the
speech does. Rendering re-encodes (frame-exact) and joins audio with short crossfades whose overlap is
taken from beyond each cut, so audio stays in sync with the picture.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import accumulate
from pathlib import Path

from newsroom import lang
from newsroom.errors import ConfigError, MediaError
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.media.graph import Filter, FilterGraph
from newsroom.media.inputs import input_args
from newsroom.types import MediaInfo, Segment, Transcript, Word
from newsroom.video.scenes import SceneList

log = logging.getLogger("newsroom.video.highlight")

# A word that ends a sentence: any language profile's sentence marks (one transcript may quote another script).
_SENTENCE_MARKS = "".join(sorted({mark for p in lang.PROFILES.values() for mark in p.sentence_marks}))
SENTENCE_END_RE = re.compile(f"[{re.escape(_SENTENCE_MARKS)}]['\"”’)]*$")
PAD_S = 0.15  # air around speech at each cut
SCENE_SNAP_S = 0.6  # move a cut onto a scene cut this close (if it clips no word)
MERGE_GAP_S = 0.8  # join chosen sentences separated by less than this
CROSSFADE_S = 0.05
PAUSE_BREAK_S = 1.0


@dataclass(frozen=True, slots=True)
class Sentence:
    id: int
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class EditRange:
    start_frame: int
    end_frame: int  # exclusive
    sentence_ids: tuple[int, ...] = ()

    def start_s(self, fps: float) -> float:
        return self.start_frame / fps

    def end_s(self, fps: float) -> float:
        return self.end_frame / fps


@dataclass(frozen=True, slots=True)
class EditDecision:
    fps: float
    ranges: tuple[EditRange, ...]
    target_s: float
    note: str = ""

    @property
    def frames(self) -> int:
        return sum(r.end_frame - r.start_frame for r in self.ranges)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    @property
    def cut_frames(self) -> list[int]:
        """Frames of the edit's own timeline where one range ends and the next begins: its cuts."""
        ends = list(accumulate(r.end_frame - r.start_frame for r in self.ranges))
        return ends[:-1]

    def shot_changes_s(self, scenes: SceneList) -> tuple[float, ...]:
        """Where the picture cuts on the edit's own timeline, in seconds: the joins between ranges and the
        source's scene cuts inside each range (what subtitles time their cues around)."""
        frames, offset = set(self.cut_frames), 0
        for r in self.ranges:
            for cut in scenes.cuts_s:
                frame = round(cut * self.fps)
                if r.start_frame < frame < r.end_frame:
                    frames.add(offset + frame - r.start_frame)
            offset += r.end_frame - r.start_frame
        return tuple(f / self.fps for f in sorted(frames))

    def to_dict(self) -> dict:
        return {
            "fps": self.fps, "target_s": self.target_s, "duration_s": round(self.duration_s, 3), "note": self.note,
            "ranges": [{"start_s": round(r.start_s(self.fps), 3), "end_s": round(r.end_s(self.fps), 3),
                        "start_frame": r.start_frame, "end_frame": r.end_frame,
                        "sentence_ids": list(r.sentence_ids)} for r in self.ranges],
        }

    @classmethod
    def from_dict(cls, data: dict) -> EditDecision:
        """The decision `to_dict` wrote (frames are the truth; the seconds beside them are for people)."""
        return cls(fps=float(data["fps"]), target_s=float(data["target_s"]), note=data.get("note", ""),
                   ranges=tuple(EditRange(int(r["start_frame"]), int(r["end_frame"]), tuple(r.get("sentence_ids", ())))
                                for r in data["ranges"]))


def split_sentences(transcript: Transcript) -> list[Sentence]:
    """Sentences from word timestamps: a sentence ends at final punctuation or a long pause."""
    sentences: list[Sentence] = []
    joiner = lang.joiner(transcript.language)
    current: list[Word] = []

    def close() -> None:
        if current:
            sentences.append(Sentence(len(sentences), current[0].start, current[-1].end,
                                      joiner.join(w.word for w in current), tuple(current)))
            current.clear()

    for segment in transcript.segments:
        for word in segment.words:
            if current and word.start - current[-1].end >= PAUSE_BREAK_S:
                close()  # a long pause ends a sentence even without punctuation
            current.append(word)
            if SENTENCE_END_RE.search(word.word):
                close()
    close()  # Whisper segments may split mid-sentence: only punctuation and pauses end sentences
    return sentences


def _keywords(text: str, language: str) -> set[str]:
    profile = lang.profile(language)
    if not profile.spaced:
        chars = profile.script.pattern.findall(text)
        return {a + b for a, b in zip(chars, chars[1:], strict=False)}  # character bigrams
    return {w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in profile.stopwords and len(w) > 2}


def rank_sentences(sentences: Sequence[Sentence], language: str, headline: str | None = None) -> list[float]:
    """A score per sentence: speech density, position (news puts the key facts first), headline overlap."""
    if not sentences:
        return []
    densities = [len(s.text) / max(s.duration_s, 0.3) for s in sentences]
    top_density = max(densities) or 1.0
    head = _keywords(headline or "", language)
    scores = []
    for i, s in enumerate(sentences):
        density = densities[i] / top_density
        position = 1.0 - i / max(1, len(sentences))
        overlap = len(head & _keywords(s.text, language)) / len(head) if head else 0.0
        too_short = 0.5 if s.duration_s < 1.2 else 1.0
        scores.append(too_short * (0.35 * density + 0.4 * position + 0.6 * overlap))
    return scores


def _snap_range(start_s: float, end_s: float, prev_word_end: float, next_word_start: float,
                cuts: Sequence[float], fps: float, duration_s: float) -> tuple[int, int]:
    """Pad a speech range, move its ends onto nearby scene cuts, never into a neighbouring word."""
    lo, hi = max(0.0, prev_word_end), min(duration_s, next_word_start)
    start = max(lo, start_s - PAD_S)
    end = min(hi, end_s + PAD_S)
    before = [c for c in cuts if lo <= c <= start_s and start_s - c <= SCENE_SNAP_S]
    if before:
        start = max(before)
    after = [c for c in cuts if end_s <= c <= hi and c - end_s <= SCENE_SNAP_S]
    if after:
        end = min(after)
    start_frame = int(start * fps + 1e-6)  # floor: keep the first word's onset
    end_frame = min(round(duration_s * fps), int(-(-end * fps // 1)))  # ceil: keep the last word's tail
    return start_frame, max(end_frame, start_frame + 1)


def plan_highlight(
    transcript: Transcript | None, scenes: SceneList, *, target_s: float = 60.0,
    sentence_ids: Sequence[int] | None = None, time_ranges: Sequence[tuple[float, float]] | None = None,
    headline: str | None = None,
) -> EditDecision:
    """Which frames go into the edit. Editors' explicit sentence ids or time ranges win over ranking."""
    fps, duration = scenes.fps, scenes.duration_s
    total_frames = round(duration * fps)
    if target_s <= 0:
        raise ConfigError("target length must be positive seconds")
    if time_ranges:
        ranges = []
        for start, end in time_ranges:
            if not 0 <= start < end:
                raise ConfigError(f"time range {start}-{end} is not a positive span")
            ranges.append(EditRange(round(start * fps), min(total_frames, round(end * fps))))
        ranges = [r for r in ranges if r.end_frame > r.start_frame]
        if not ranges:
            raise ConfigError(f"no time range overlaps the video (0-{duration:.2f}s)")
        return EditDecision(fps, tuple(ranges), target_s, "time ranges chosen by the editor")

    sentences = split_sentences(transcript) if transcript else []
    if not sentences:
        if sentence_ids:
            raise ConfigError("sentence ids were given but the story has no transcribed speech")
        return _picture_only_edit(scenes, target_s)

    if sentence_ids:
        unknown = sorted(set(sentence_ids) - {s.id for s in sentences})
        if unknown:
            raise ConfigError(f"unknown sentence ids {unknown}: the transcript has sentences 0-{len(sentences) - 1}")
        chosen = sorted(set(sentence_ids))
        note = "sentences chosen by the editor"
    else:
        scores = rank_sentences(sentences, transcript.language, headline)
        order = sorted(range(len(sentences)), key=lambda i: -scores[i])
        chosen, total = [], 0.0
        for i in order:
            if total >= target_s:
                break
            if total + sentences[i].duration_s > target_s * 1.15 and chosen:
                continue
            chosen.append(i)
            total += sentences[i].duration_s + 2 * PAD_S
        chosen.sort()
        note = f"{len(chosen)} of {len(sentences)} sentences ranked by density, position" + (
            " and headline overlap" if headline else "")

    groups: list[list[int]] = []
    for i in chosen:
        if groups and i == groups[-1][-1] + 1 and sentences[i].start_s - sentences[i - 1].end_s < MERGE_GAP_S:
            groups[-1].append(i)
        else:
            groups.append([i])
    cuts = scenes.cuts_s
    ranges = []
    for group in groups:
        first, last = sentences[group[0]], sentences[group[-1]]
        prev_end = sentences[group[0] - 1].end_s if group[0] > 0 else 0.0
        next_start = sentences[group[-1] + 1].start_s if group[-1] + 1 < len(sentences) else duration
        start_frame, end_frame = _snap_range(first.start_s, last.end_s, prev_end, next_start, cuts, fps, duration)
        ranges.append(EditRange(start_frame, end_frame, tuple(group)))
    return EditDecision(fps, tuple(ranges), target_s, note)


def _picture_only_edit(scenes: SceneList, target_s: float) -> EditDecision:
    """No speech: whole scenes from the start until the target length (the source if shorter)."""
    ranges, total = [], 0
    limit = round(target_s * scenes.fps)
    for scene in scenes.scenes:
        take = min(scene.end_frame - scene.start_frame, limit - total)
        if take <= 0:
            break
        ranges.append(EditRange(scene.start_frame, scene.start_frame + take))
        total += take
    merged: list[EditRange] = []
    for r in ranges:
        if merged and merged[-1].end_frame == r.start_frame:
            merged[-1] = EditRange(merged[-1].start_frame, r.end_frame)
        else:
            merged.append(r)
    return EditDecision(scenes.fps, tuple(merged), target_s, "no speech in the story: the edit follows the scenes")


def retime_transcript(transcript: Transcript, decision: EditDecision) -> Transcript:
    """The transcript on the edit's timeline: words inside the ranges, shifted to their new times."""
    fps = decision.fps
    segments = []
    offset = 0.0
    for r in decision.ranges:
        start, end = r.start_s(fps), r.end_s(fps)
        for segment in transcript.segments:
            words = tuple(
                replace(w, start=w.start - start + offset, end=w.end - start + offset)
                for w in segment.words if w.start >= start - 1e-6 and w.end <= end + 1e-6
            )
            if words:
                segments.append(Segment(words[0].start, words[-1].end, lang.joiner(transcript.language).join(
                    w.word for w in words), words, segment.speaker))
        offset += end - start
    return Transcript(transcript.language, decision.duration_s, transcript.model, tuple(segments))


def render_edit(src: str | Path, dst: str | Path, decision: EditDecision, *, info: MediaInfo | None = None,
                crossfade_s: float = CROSSFADE_S, progress: Progress | None = None) -> Path:
    """Re-encode the chosen frames (frame-exact) with crossfaded audio joins."""
    info = info or probe(src)
    if info.video is None:
        raise MediaError(f"{Path(src).name} has no video stream to edit")
    if not decision.ranges:
        raise ConfigError("the edit decision has no ranges")
    fps = decision.fps
    n = len(decision.ranges)
    graph = FilterGraph()
    for i, r in enumerate(decision.ranges):
        graph.chain("0:v", [Filter("trim", start_frame=r.start_frame, end_frame=r.end_frame),
                            Filter("setpts", "PTS-STARTPTS")], f"v{i}")
    graph.chain([f"v{i}" for i in range(n)], Filter("concat", n=n, v=1, a=0), "v")
    maps = ["-map", graph.output("v")]
    if info.has_audio:
        for i, r in enumerate(decision.ranges):
            extra = crossfade_s if i < n - 1 else 0.0
            graph.chain("0:a", [Filter("atrim", start=f"{r.start_s(fps):.6f}", end=f"{r.end_s(fps) + extra:.6f}"),
                                Filter("asetpts", "PTS-STARTPTS")], f"a{i}")
        last = "a0"
        for i in range(1, n):
            graph.chain([last, f"a{i}"], Filter("acrossfade", d=crossfade_s, c1="tri", c2="tri"), f"x{i}")
            last = f"x{i}"
        graph.chain(last, Filter("anull"), "a")
        maps += ["-map", graph.output("a"), "-c:a", "aac", "-b:a", "192k"]
    run_ffmpeg(
        [*input_args(src), "-filter_complex", graph.text(), *maps, "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "18", "-pix_fmt", "yuv420p", "-r", f"{fps:g}", "-movflags", "+faststart", str(dst)],
        duration_s=decision.duration_s, progress=progress, what="rendering the highlight edit", output=dst,
    )
    return Path(dst)
