"""Speaker turns: who speaks when, as "S1", "S2", ... on every segment and word of a transcript.

    diarizer = Diarizer.load()                      # load once (the voice encoder, 17 MB)
    transcript = diarizer.label(transcript, audio)  # call many: the same transcript with speakers

The recipe (resemblyzer's, with a clustering step instead of enrolled reference voices):
1. Speech is where the transcript has words. The words' spans are joined into one stream of speech with
   the pauses between them removed (resemblyzer embeds speech with long silences trimmed, too).
2. A 1.6 s window every `step_s` along that stream becomes a 256-d voice embedding (`voice_encoder`).
3. Average-linkage clustering of the windows at a cosine-distance cut (0.30). Measured on the packaged
   voices: one voice's windows merge at <= 0.24 (piper joe, three Kokoro voices, the espeak and neural
   fixtures); different voices at 0.34-0.55, except the closest pair (two female Kokoro voices, jf_alpha
   and jf_nezumi), which merge at 0.31-0.34. Real recordings spread one voice wider than synthetic ones:
   raise NEWSROOM_DIARIZE_DISTANCE if one person comes out as two. A "speaker" with less than
   `min_speaker_s` of speech joins the nearest real one, and a cluster of windows that straddle turn
   changes (a blend of two voices, found only between them) is dissolved.
4. Every 10 ms frame scores each speaker by its windows' similarity to that speaker's centroid
   (Hann-weighted: a window speaks most for its middle), every word takes the best-scoring speaker over
   its frames, turns shorter than `min_turn_s` are folded into a neighbour, and a turn change is moved
   to the longest pause between words close by (people change turns at pauses, windows blur them).
5. Speakers are named in order of first appearance. A segment whose words change speaker is split there,
   each part keeping its own slice of Whisper's text, so every segment has one speaker.

Cost: ~0.012-0.02 CPU-s per audio second at the default 0.4 s step, clustering included; the clustering
is capped at `max_cluster_windows` (longer recordings cluster a spread sample and assign every window to
the nearest speaker).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import numpy as np

from newsroom.asr.voice_encoder import (
    MEL_HOP_SAMPLES,
    SAMPLE_RATE_HZ,
    WINDOW_FRAMES,
    VoiceEncoder,
    mel_frames,
    normalize_volume,
)
from newsroom.config import Settings, get_settings
from newsroom.errors import ModelNotInstalledError
from newsroom.types import Segment, Transcript, Word

log = logging.getLogger("newsroom.asr.speakers")

FRAMES_PER_S = SAMPLE_RATE_HZ // MEL_HOP_SAMPLES  # 100 mel frames a second
WORD_PAD_S = 0.05  # speech kept either side of a word's timestamps
JOIN_GAP_S = 0.2  # pauses up to this long stay in the speech stream (resemblyzer keeps ~0.18 s)
# A cluster whose centroid is this close to the normalised sum of two other speakers' is a blend of them
# (measured: windows straddling a turn change 0.88-0.90; real voices 0.62-0.73 to the other two).
BLEND_COS = 0.82
MIN_SPEECH_S = 1.0  # less speech than this is one speaker by definition: nothing to compare


@dataclass(frozen=True, slots=True)
class DiarizeOptions:
    step_s: float = 0.4  # one embedding window every step (0.25-0.5 s all work; 0.4 measured best cost/accuracy)
    distance_cut: float = 0.30  # average-linkage cut (cosine distance) between two voices
    min_speaker_s: float = 2.0  # a cluster with less speech is folded into the nearest speaker
    min_turn_s: float = 1.0  # shorter turns are folded into a neighbour
    snap_s: float = 0.8  # a turn change moves to the longest pause between words within this distance
    max_cluster_windows: int = 3000  # clustering is O(n^2): longer recordings cluster a spread sample


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    speaker: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class _Stream:
    """Speech spans of the original audio laid end to end: original sample <-> stream sample."""

    audio: np.ndarray
    orig_starts: np.ndarray  # samples, per span
    stream_starts: np.ndarray  # samples, per span
    lengths: np.ndarray  # samples, per span

    def frame(self, t_s: float) -> int:
        """The stream frame of original time `t_s` (clamped into the nearest span)."""
        sample = t_s * SAMPLE_RATE_HZ
        i = int(np.clip(np.searchsorted(self.orig_starts, sample, side="right") - 1, 0, len(self.orig_starts) - 1))
        offset = float(np.clip(sample - self.orig_starts[i], 0, self.lengths[i]))
        return int((self.stream_starts[i] + offset) // MEL_HOP_SAMPLES)


def speech_spans(words: list[Word], duration_s: float) -> list[tuple[float, float]]:
    """The words' time spans, padded and joined across short pauses: where there is speech."""
    spans: list[list[float]] = []
    for w in sorted(words, key=lambda w: w.start):
        start, end = max(0.0, w.start - WORD_PAD_S), min(duration_s, w.end + WORD_PAD_S)
        if end <= start:
            continue
        if spans and start <= spans[-1][1] + JOIN_GAP_S:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(a, b) for a, b in spans]


def _stream(audio: np.ndarray, spans: list[tuple[float, float]]) -> _Stream:
    starts, lengths, pieces = [], [], []
    for a, b in spans:
        first, last = int(a * SAMPLE_RATE_HZ), min(len(audio), int(b * SAMPLE_RATE_HZ))
        if last > first:
            starts.append(first)
            lengths.append(last - first)
            pieces.append(audio[first:last])
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    stream_starts = np.concatenate([[0], np.cumsum(lengths_arr)[:-1]]).astype(np.int64)
    joined = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
    return _Stream(joined, np.asarray(starts, dtype=np.int64), stream_starts, lengths_arr)


def _cluster(embeddings: np.ndarray, options: DiarizeOptions) -> np.ndarray:
    """Cluster labels 0..k-1 per window: average linkage, cosine distance, cut at options.distance_cut."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(embeddings)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    sample = np.arange(n)
    if n > options.max_cluster_windows:
        sample = np.linspace(0, n - 1, options.max_cluster_windows).round().astype(np.int64)
    tree = linkage(embeddings[sample].astype(np.float64), method="average", metric="cosine")
    labels = fcluster(tree, t=options.distance_cut, criterion="distance") - 1
    if len(sample) == n:
        return labels.astype(np.int64)
    centroids = _centroids(embeddings[sample], labels)
    return np.argmax(embeddings @ centroids.T, axis=1)


def _centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    k = int(labels.max()) + 1
    sums = np.zeros((k, embeddings.shape[1]), np.float64)
    np.add.at(sums, labels, embeddings)
    return (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _fold_small(embeddings: np.ndarray, labels: np.ndarray, min_windows: int) -> np.ndarray:
    """Windows of clusters smaller than `min_windows` join the most similar remaining cluster."""
    counts = np.bincount(labels)
    keep = np.flatnonzero(counts >= min_windows)
    if len(keep) == 0:
        keep = np.array([int(np.argmax(counts))])
    centroids = _centroids(embeddings, labels)[keep]
    small = ~np.isin(labels, keep)
    out = labels.copy()
    if small.any():
        out[small] = keep[np.argmax(embeddings[small] @ centroids.T, axis=1)]
    return np.searchsorted(keep, out)  # renumber 0..len(keep)-1


def _dissolve_blends(embeddings: np.ndarray, labels: np.ndarray, max_run: int, blend_cos: float) -> np.ndarray:
    """Dissolve clusters made of windows that straddle a turn change between two other speakers.

    Such windows hear both voices; at every turn change a few of them land between the two speakers and,
    over a conversation, can form a "speaker" of their own. A cluster is taken for one when its centroid
    looks like the blend of two other speakers' and it only ever occurs in short runs (no longer than one
    window's 1.6 s) between two different speakers. Its windows join the nearest remaining speaker.
    """
    while True:
        k = int(labels.max()) + 1
        if k < 3:
            return labels
        centroids = _centroids(embeddings, labels)
        runs = _runs(labels.tolist())
        for c in sorted(range(k), key=lambda c: int(np.sum(labels == c))):
            others = [o for o in range(k) if o != c]
            blend = max(
                float(centroids[c] @ (centroids[a] + centroids[b])) / max(float(np.linalg.norm(centroids[a] + centroids[b])), 1e-12)
                for i, a in enumerate(others) for b in others[i + 1:]
            )
            mine = [(j, first, stop) for j, (label, first, stop) in enumerate(runs) if label == c]
            between = all(
                0 < j < len(runs) - 1 and runs[j - 1][0] != runs[j + 1][0] and stop - first <= max_run
                for j, first, stop in mine
            )
            if blend >= blend_cos and between:
                members = labels == c
                kept = np.array(others)
                labels = labels.copy()
                labels[members] = kept[np.argmax(embeddings[members] @ centroids[kept].T, axis=1)]
                labels = np.searchsorted(kept, labels)
                break
        else:
            return labels


def _runs(labels: list[int]) -> list[tuple[int, int, int]]:
    """(label, first index, last index + 1) of each run of equal labels."""
    runs, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((labels[start], start, i))
            start = i
    return runs


class Diarizer:
    """Speaker turns from a loaded voice encoder. Construct with `Diarizer.load(...)`."""

    def __init__(self, encoder: VoiceEncoder, options: DiarizeOptions | None = None) -> None:
        self.encoder = encoder
        self.options = options or DiarizeOptions()

    @classmethod
    def load(cls, settings: Settings | None = None, options: DiarizeOptions | None = None) -> Diarizer:
        settings = settings or get_settings()
        options = options or DiarizeOptions(distance_cut=settings.diarize_distance)
        try:
            encoder = VoiceEncoder.load(settings)
        except ModelNotInstalledError as exc:
            raise ModelNotInstalledError(f"speaker turns: {exc}; or turn them off with NEWSROOM_DIARIZE=false") from exc
        return cls(encoder, options)

    # -- per call
    def label(self, transcript: Transcript, audio: np.ndarray) -> Transcript:
        """`transcript` with a speaker on every word and segment (segments split at speaker changes)."""
        words = [w for s in transcript.segments for w in s.words]
        if not words:
            return transcript
        started = time.process_time()
        labels = self.word_speakers(words, audio)
        segments: list[Segment] = []
        index = 0
        for segment in transcript.segments:
            n = len(segment.words)
            segments.extend(_split(segment, labels[index:index + n]))
            index += n
        speakers = len(set(labels))
        log.info("%d speaker(s) over %.1fs of audio in %.2f CPU-s", speakers, transcript.duration_s,
                 time.process_time() - started)
        return replace(transcript, segments=tuple(segments))

    def word_speakers(self, words: list[Word], audio: np.ndarray) -> list[str]:
        """A speaker name per word ("S1", "S2", ... by first appearance), in the order given."""
        opts = self.options
        duration_s = len(audio) / SAMPLE_RATE_HZ
        spans = speech_spans(words, duration_s)
        stream = _stream(audio, spans)
        if len(stream.audio) < MIN_SPEECH_S * SAMPLE_RATE_HZ:
            return ["S1"] * len(words)
        frames = mel_frames(normalize_volume(stream.audio))
        step = max(1, round(opts.step_s * FRAMES_PER_S))
        starts = list(range(0, max(1, len(frames) - WINDOW_FRAMES + 1), step))
        if len(frames) > WINDOW_FRAMES and starts[-1] + WINDOW_FRAMES < len(frames):
            starts.append(len(frames) - WINDOW_FRAMES)  # the last window ends with the speech
        embeddings = self.encoder.embed(frames, starts)
        labels = _cluster(embeddings, opts)
        min_windows = max(1, round(opts.min_speaker_s / opts.step_s))
        labels = _fold_small(embeddings, labels, min_windows)
        labels = _dissolve_blends(embeddings, labels, max(1, round(WINDOW_FRAMES / step)), BLEND_COS)
        centroids = _centroids(embeddings, labels)
        similarity = embeddings @ centroids.T  # (windows, speakers)

        # Per-frame speaker scores: each window votes over its frames, most for its middle.
        weight = np.hanning(WINDOW_FRAMES + 2)[1:-1].astype(np.float32)
        n_frames = max(len(frames), starts[-1] + WINDOW_FRAMES)
        scores = np.zeros((n_frames, len(centroids)), np.float32)
        totals = np.zeros(n_frames, np.float32)
        for start, row in zip(starts, similarity, strict=True):
            scores[start:start + WINDOW_FRAMES] += weight[:, None] * row[None, :]
            totals[start:start + WINDOW_FRAMES] += weight
        scores /= np.maximum(totals, 1e-6)[:, None]

        word_scores = np.empty((len(words), len(centroids)), np.float32)
        for i, w in enumerate(words):
            a = min(stream.frame(w.start), n_frames - 1)
            b = min(max(stream.frame(w.end), a + 1), n_frames)
            word_scores[i] = scores[a:b].mean(axis=0)
        word_labels = [int(x) for x in np.argmax(word_scores, axis=1)]
        if len(centroids) > 1:
            word_labels = _smooth(words, word_labels, word_scores, opts.min_turn_s)
            word_labels = _snap(words, word_labels, opts.snap_s)
        names: dict[int, str] = {}
        for label in word_labels:
            names.setdefault(label, f"S{len(names) + 1}")
        return [names[label] for label in word_labels]


def speaker_turns(transcript: Transcript) -> tuple[SpeakerTurn, ...]:
    """A labelled transcript's turns: runs of words by one speaker (empty when it has no speakers)."""
    words = [w for s in transcript.segments for w in s.words if w.speaker]
    return tuple(SpeakerTurn(str(label), words[a].start, words[b - 1].end)
                 for label, a, b in _runs([w.speaker for w in words]))


def _smooth(words: list[Word], labels: list[int], scores: np.ndarray, min_turn_s: float) -> list[int]:
    """Fold turns shorter than `min_turn_s` into a neighbour, shortest first."""
    labels = list(labels)
    while True:
        runs = _runs(labels)
        if len(runs) < 2:
            return labels
        durations = [words[b - 1].end - words[a].start for _, a, b in runs]
        k = int(np.argmin(durations))
        if durations[k] >= min_turn_s:
            return labels
        _, a, b = runs[k]
        neighbours = [runs[j][0] for j in (k - 1, k + 1) if 0 <= j < len(runs)]
        best = max(neighbours, key=lambda label: float(scores[a:b, label].sum()))
        labels[a:b] = [best] * (b - a)


def _snap(words: list[Word], labels: list[int], snap_s: float) -> list[int]:
    """Move each turn change to the longest pause between words within `snap_s` of it."""
    labels = list(labels)
    for k in range(len(_runs(labels)) - 1):
        runs = _runs(labels)
        (left, first, boundary), (right, _, end) = runs[k], runs[k + 1]
        t = words[boundary].start
        best, best_gap = boundary, words[boundary].start - words[boundary - 1].end
        for j in range(first + 1, end):  # each run keeps at least one word
            gap = words[j].start - words[j - 1].end
            if abs(words[j].start - t) <= snap_s and gap > best_gap + 0.05:
                best, best_gap = j, gap
        if best < boundary:
            labels[best:boundary] = [right] * (boundary - best)
        elif best > boundary:
            labels[boundary:best] = [left] * (best - boundary)
    return labels


def _split(segment: Segment, speakers: list[str]) -> list[Segment]:
    """`segment` with its words' speakers, cut into one segment per speaker run."""
    words = tuple(replace(w, speaker=s) for w, s in zip(segment.words, speakers, strict=True))
    runs = _runs(list(speakers))
    if len(runs) <= 1:
        return [replace(segment, words=words, speaker=speakers[0] if speakers else None)]
    # Each part keeps its own slice of Whisper's text (spaces and punctuation as Whisper wrote them).
    cuts, position = [], 0
    for w in segment.words:
        found = segment.text.find(w.word, position)
        cuts.append(found)
        if found >= 0:
            position = found + len(w.word)
    joiner = " " if " " in segment.text.strip() else ""  # as the segment itself writes (no spaces: zh, ja)
    parts = []
    for speaker, a, b in runs:
        start = cuts[a] if a > 0 else 0
        stop = cuts[b] if b < len(words) else len(segment.text)
        if a > 0 and start < 0 or b < len(words) and stop < 0 or stop < start:
            text = joiner.join(w.word for w in words[a:b])  # the words cannot be found in the text
        else:
            text = segment.text[start:stop].strip()
        part = words[a:b]
        parts.append(Segment(start=part[0].start, end=part[-1].end, text=text, words=part, speaker=speaker))
    return parts

