"""Life between the words: natural blinks, a slight head drift, brows and nods that follow the voice.

Blinks. Inter-blink intervals are skewed, not uniform: a gamma distribution with a mean of
`BLINK_MEAN_INTERVAL_S` (about 17 a minute, as in conversation; Bentivoglio et al. 1997 measured 17/min
at rest and 26/min talking, 4.5/min reading) and a coefficient of variation of about 0.7, never closer
than `BLINK_MIN_INTERVAL_S`; about one blink in ten is doubled. People blink at phrase boundaries
rather than mid-word, so a blink drawn near a pause moves onto it. A blink lasts 130-240 ms, closing
faster than it reopens; its deepest point is snapped to a frame so that it shows at 25 fps.

Head. A slow drift by a degree or so and a percent of the face height (a sum of slow sinusoids with
seeded frequencies and phases: the same seed gives the same video), plus small nods on stressed words.

Brows and nods follow the speech (`speech_events`): phrase starts (the first sound after a pause) and
stressed syllables (espeak's primary stress marks, weighted by how loud the voice is there; without
phoneme timings, peaks of the voice's energy). Brows rise slightly ahead of the syllable they mark and
settle over half a second; at most one raise per `BROW_MIN_SPACING_S`. Nods (a short dip of the head)
land on the strongest beats, at most one per `NOD_MIN_SPACING_S`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsroom.types import PhonemeTiming

BLINK_MEAN_INTERVAL_S = 3.5  # about 17 blinks a minute
BLINK_INTERVAL_SHAPE = 2.0  # gamma shape: coefficient of variation 1/sqrt(2) ~ 0.7
BLINK_MIN_INTERVAL_S = 0.8
BLINK_DOUBLE_SHARE = 0.1  # blinks followed by a second one ...
BLINK_DOUBLE_GAP_S = (0.3, 0.45)  # ... this soon
BLINK_SNAP_S = 0.5  # a blink this close to a phrase boundary happens on it
BLINK_DURATION_S = 0.15  # typical; each blink draws its own from BLINK_DURATION_RANGE_S
BLINK_DURATION_RANGE_S = (0.13, 0.24)
BLINK_CLOSING_SHARE = 0.35  # of the blink's duration spent closing; the rest reopening
FIRST_BLINK_S = (0.8, 3.0)  # the first blink comes sooner than the typical interval

PHRASE_PAUSE_S = 0.25  # silence at least this long ends a phrase
BROW_MIN_SPACING_S = 1.6
BROW_LEAD_S = 0.12  # brows start rising this long before the syllable
BROW_RISE_S, BROW_HOLD_S, BROW_FALL_S = 0.15, 0.25, 0.45
BROW_PHRASE_CHANCE = 0.55  # of phrase starts that lift the brows
NOD_MIN_SPACING_S = 0.7
NOD_DOWN_S, NOD_UP_S = 0.16, 0.32
NOD_CHANCE = 0.75  # of the strong beats that get a nod
BEAT_STRENGTH_QUANTILE = 0.5  # stresses louder than this share of the read's stresses are beats

HEAD_MAX_ROLL_DEG = 1.2
HEAD_MAX_SHIFT_X = 0.012  # fractions of the face height
HEAD_MAX_SHIFT_Y = 0.008
HEAD_FREQUENCIES_HZ = (0.06, 0.35)
HEAD_COMPONENTS = 3


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Per-frame head motion: roll in degrees, shifts as fractions of the face height."""

    roll_deg: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray


@dataclass(frozen=True, slots=True)
class SpeechEvents:
    """When the voice starts a phrase and where it puts its stresses (seconds; strengths 0..1)."""

    phrase_starts: tuple[float, ...] = ()
    pauses: tuple[tuple[float, float], ...] = ()  # (start, end) of the silences between phrases
    stresses: tuple[tuple[float, float], ...] = ()  # (time, strength)


def blink_times(duration_s: float, fps: float, *, seed: int = 0, boundaries: tuple[float, ...] = (),
                mean_interval_s: float = BLINK_MEAN_INTERVAL_S) -> tuple[float, ...]:
    """When each blink is deepest (seconds, on frame times): gamma-distributed intervals, some doubled,
    drawn towards `boundaries` (phrase starts and pauses) within `BLINK_SNAP_S`."""
    rng = np.random.default_rng([seed, 0xB1])
    scale = mean_interval_s / BLINK_INTERVAL_SHAPE
    edges = np.asarray(sorted(boundaries), dtype=np.float64)
    times: list[float] = []
    t = float(rng.uniform(*FIRST_BLINK_S))
    while t < duration_s - BLINK_DURATION_RANGE_S[1]:
        if edges.size:
            nearest = float(edges[np.argmin(np.abs(edges - t))])
            if abs(nearest - t) <= BLINK_SNAP_S and (not times or nearest - times[-1] >= BLINK_MIN_INTERVAL_S):
                t = nearest
        if not times or t - times[-1] >= BLINK_MIN_INTERVAL_S - 1e-9:
            times.append(t)
            if rng.uniform() < BLINK_DOUBLE_SHARE:
                second = t + float(rng.uniform(*BLINK_DOUBLE_GAP_S))
                if second < duration_s - BLINK_DURATION_RANGE_S[1]:
                    times.append(second)
        t = times[-1] + max(BLINK_MIN_INTERVAL_S, float(rng.gamma(BLINK_INTERVAL_SHAPE, scale)))
    snapped = sorted({round(x * fps) / fps for x in times})
    return tuple(snapped)


def blink_durations(times: tuple[float, ...], *, seed: int = 0) -> tuple[float, ...]:
    """Each blink's length (seconds), seeded: 130-240 ms."""
    rng = np.random.default_rng([seed, 0xB2])
    return tuple(float(d) for d in rng.uniform(*BLINK_DURATION_RANGE_S, size=len(times)))


def blink_track(frames: int, fps: float, times: tuple[float, ...],
                blink_s: float | tuple[float, ...] = BLINK_DURATION_S) -> np.ndarray:
    """Eyelid closure per frame (0 open .. 1 shut) for blinks whose deepest point is at `times`."""
    t = np.arange(frames) / fps
    closure = np.zeros(frames)
    lengths = blink_s if isinstance(blink_s, tuple) else (blink_s,) * len(times)
    for peak, length in zip(times, lengths, strict=True):
        closing, opening = length * BLINK_CLOSING_SHARE, length * (1 - BLINK_CLOSING_SHARE)
        lo, hi = max(0, int((peak - closing) * fps)), min(frames, int(np.ceil((peak + opening) * fps)) + 1)
        dt = t[lo:hi] - peak
        shape = np.where(dt < 0, 1.0 + dt / closing, 1.0 - dt / opening)
        closure[lo:hi] = np.maximum(closure[lo:hi], np.clip(shape, 0.0, 1.0))
    return closure


def speech_events(phonemes: Sequence[PhonemeTiming], samples: np.ndarray | None, sample_rate_hz: int,
                  duration_s: float) -> SpeechEvents:
    """Phrase starts, pauses and stressed syllables of a read, from phoneme timings when there are any,
    else from the voice's energy (`samples`, mono float)."""
    from newsroom.anchor.visemes import is_pause, is_sound

    loudness = _loudness(samples, sample_rate_hz) if samples is not None and len(samples) else None
    phrase_starts: list[float] = []
    pauses: list[tuple[float, float]] = []
    stresses: list[tuple[float, float]] = []
    if phonemes:
        items = sorted(phonemes, key=lambda p: p.start_s)
        last_sound_end = None
        pause_start = 0.0
        for p in items:
            if is_pause(p.phoneme, p.end_s - p.start_s):
                pause_start = p.start_s if last_sound_end is None or pause_start < last_sound_end else pause_start
                continue
            if "ˈ" in p.phoneme:
                stresses.append((p.start_s, 0.0))
            if not is_sound(p.phoneme):
                continue
            gap = p.start_s - (last_sound_end if last_sound_end is not None else -1.0)
            if last_sound_end is None or gap >= PHRASE_PAUSE_S:
                phrase_starts.append(p.start_s)
                if last_sound_end is not None:
                    pauses.append((last_sound_end, p.start_s))
            last_sound_end = p.end_s
        if last_sound_end is not None and duration_s - last_sound_end >= PHRASE_PAUSE_S:
            pauses.append((last_sound_end, duration_s))
        if loudness is not None:
            stresses = [(t, _level_at(loudness, t)) for t, _ in stresses]
    elif loudness is not None:
        phrase_starts, pauses, stresses = _energy_events(loudness, duration_s)
    if stresses:
        levels = np.array([s for _, s in stresses])
        lo, hi = float(levels.min()), float(levels.max())
        stresses = [(t, (s - lo) / (hi - lo) if hi > lo else 1.0) for t, s in stresses]
    return SpeechEvents(tuple(phrase_starts), tuple(pauses), tuple(stresses))


LOUDNESS_RATE_HZ = 100


def _loudness(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Voice loudness in dB, `LOUDNESS_RATE_HZ` values a second (40 ms RMS windows)."""
    hop = max(1, sample_rate_hz // LOUDNESS_RATE_HZ)
    window = 4 * hop
    n = max(1, len(samples) // hop)
    padded = np.concatenate([np.zeros(window // 2, np.float32), np.asarray(samples, np.float32),
                             np.zeros(window, np.float32)])
    csum = np.concatenate([[0.0], np.cumsum(padded.astype(np.float64) ** 2)])
    starts = np.arange(n) * hop
    power = (csum[starts + window] - csum[starts]) / window
    return 10 * np.log10(power + 1e-10)


def _level_at(loudness: np.ndarray, time_s: float, span_s: float = 0.2) -> float:
    lo = int(time_s * LOUDNESS_RATE_HZ)
    chunk = loudness[max(0, lo):max(lo + 1, lo + int(span_s * LOUDNESS_RATE_HZ))]
    return float(chunk.max()) if chunk.size else float(loudness.min(initial=-100.0))


def _energy_events(loudness: np.ndarray, duration_s: float) -> tuple[list[float], list[tuple[float, float]], list[tuple[float, float]]]:
    """Phrases and beats from loudness alone: speech is within 30 dB of the loud parts."""
    gate = float(np.percentile(loudness, 95)) - 30.0
    voiced = loudness > gate
    rate = LOUDNESS_RATE_HZ
    starts, pauses, last_end = [], [], None
    i = 0
    while i < len(voiced):
        if voiced[i]:
            j = i
            while j < len(voiced) and voiced[j]:
                j += 1
            if last_end is None or (i - last_end) / rate >= PHRASE_PAUSE_S:
                starts.append(i / rate)
                if last_end is not None:
                    pauses.append((last_end / rate, i / rate))
            last_end = j
            i = j
        else:
            i += 1
    if last_end is not None and duration_s - last_end / rate >= PHRASE_PAUSE_S:
        pauses.append((last_end / rate, duration_s))
    # Syllable-scale peaks of the loudness, at least 0.3 s apart.
    kernel = np.hanning(int(0.12 * rate) | 1)
    smooth = np.convolve(loudness, kernel / kernel.sum(), mode="same")
    peaks = [k for k in range(1, len(smooth) - 1) if voiced[k] and smooth[k] >= smooth[k - 1] and smooth[k] > smooth[k + 1]]
    stresses: list[tuple[float, float]] = []
    for k in sorted(peaks, key=lambda k: -smooth[k]):
        if all(abs(k / rate - t) >= 0.3 for t, _ in stresses):
            stresses.append((max(0.0, k / rate - 0.08), float(smooth[k])))
    return starts, pauses, sorted(stresses)


def _pulse(t: np.ndarray, start: float, rise: float, hold: float, fall: float) -> np.ndarray:
    """0 -> 1 over `rise` (smooth), held, back to 0 over `fall`."""
    up = np.clip((t - start) / rise, 0.0, 1.0)
    down = np.clip((t - start - rise - hold) / fall, 0.0, 1.0)
    smooth = lambda x: x * x * (3 - 2 * x)  # noqa: E731
    return smooth(up) * (1 - smooth(down))


def brow_track(frames: int, fps: float, events: SpeechEvents, *, seed: int = 0, amount: float = 1.0) -> np.ndarray:
    """Eyebrow raise per frame (0 .. 1): on some phrase starts and on the strongest stress of a phrase."""
    rng = np.random.default_rng([seed, 0xB40])
    t = np.arange(frames) / fps
    candidates: list[tuple[float, float]] = []
    for start in events.phrase_starts:
        if rng.uniform() < BROW_PHRASE_CHANCE:
            candidates.append((start, float(rng.uniform(0.45, 0.75))))
    bounds = list(events.phrase_starts) + [np.inf]
    for k in range(len(bounds) - 1):
        inside = [(s, w) for s, w in events.stresses if bounds[k] <= s < bounds[k + 1]]
        if inside:
            s, w = max(inside, key=lambda item: item[1])
            if w >= BEAT_STRENGTH_QUANTILE:
                candidates.append((s, float(0.6 + 0.4 * w)))
    track = np.zeros(frames)
    last = -np.inf
    for time_s, level in sorted(candidates):
        if time_s - last < BROW_MIN_SPACING_S:
            continue
        last = time_s
        track = np.maximum(track, level * _pulse(t, time_s - BROW_LEAD_S, BROW_RISE_S, BROW_HOLD_S, BROW_FALL_S))
    return amount * track


def nod_track(frames: int, fps: float, events: SpeechEvents, *, seed: int = 0, amount: float = 1.0) -> np.ndarray:
    """Head dip per frame (0 .. 1) on the read's strong beats."""
    rng = np.random.default_rng([seed, 0x40D])
    t = np.arange(frames) / fps
    track = np.zeros(frames)
    last = -np.inf
    for time_s, strength in events.stresses:
        if strength < BEAT_STRENGTH_QUANTILE or time_s - last < NOD_MIN_SPACING_S or rng.uniform() > NOD_CHANCE:
            continue
        last = time_s
        level = float(0.5 + 0.5 * strength)
        track = np.maximum(track, level * _pulse(t, time_s - 0.05, NOD_DOWN_S, 0.0, NOD_UP_S))
    return amount * track


def head_motion(frames: int, fps: float, *, seed: int = 0, amount: float = 1.0) -> HeadPose:
    """A slow, smooth head drift: each axis a sum of sinusoids with seeded frequencies and phases."""
    rng = np.random.default_rng([seed, 0x4EAD])
    t = np.arange(frames) / fps
    axes = []
    for limit in (HEAD_MAX_ROLL_DEG, HEAD_MAX_SHIFT_X, HEAD_MAX_SHIFT_Y):
        freqs = rng.uniform(*HEAD_FREQUENCIES_HZ, size=HEAD_COMPONENTS)
        phases = rng.uniform(0, 2 * np.pi, size=HEAD_COMPONENTS)
        weights = rng.uniform(0.5, 1.0, size=HEAD_COMPONENTS)
        wave = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
        axes.append(amount * limit * wave / weights.sum())
    return HeadPose(*axes)
