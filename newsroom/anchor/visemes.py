"""Mouth shapes over time: phoneme timings -> visemes -> one mouth target per video frame.

Phonemes are espeak-ng IPA as piper emits them ("h", "ə", "l", "o", "ʊ", "ˈ", "ː", " ", "^", "$", ...).
Each phoneme maps to a viseme: how far the jaw is open (0 closed .. 1 widest speech opening), how
spread or rounded the lips are (-1 rounded/protruded .. +1 spread), how much of the upper and the lower
teeth shows, how far the tongue tip comes up (t/d/n/l, th), and its group among the 15 Oculus/Meta
visemes (`VISEME_GROUPS`; the reference atlas and the docs sheet are indexed by them).

Co-articulation follows the dominance model of Cohen & Massaro (1993): every phoneme pulls the mouth
towards its target with a weight that is full inside the phoneme and decays exponentially outside it,
so a short consonant between two vowels is coloured by them while strong ones (bilabials, labiodentals,
rounded glides) hold their shape. Lip closures (m/b/p) and pauses are then enforced as a closure mask
held for at least `MIN_CLOSURE_S`, so every bilabial closes on at least one frame at 25 fps, and the
mouth stays shut in silence. The result is smoothed a little and sampled `ANTICIPATION_S` ahead of
the sound: lips move slightly before we hear them. Bilabials also give a "press" track (lips rolled in
and pressed, not merely closed).

Engines without phoneme timings (Kokoro for Mandarin) fall back to the audio's voice-band energy, with a
noise gate so the mouth stays closed in silence.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroom.errors import MediaError, NewsroomError
from newsroom.types import PhonemeTiming, Speech

log = logging.getLogger("newsroom.anchor")

TRACK_RATE_HZ = 200  # targets are computed on this fine grid, then sampled per video frame
ANTICIPATION_S = 0.03  # the mouth shows what is heard this much later (well inside broadcast A/V sync limits)
SMOOTHING_S = 0.018  # Gaussian sigma of the final target smoothing (muscle inertia)
CLOSURE_SMOOTHING_S = 0.012
MIN_CLOSURE_S = 0.07  # a lip closure is held at least this long (>= one frame at 25 fps, with margin)
MAX_WORD_GAP_S = 0.12  # a word boundary shorter than this is not a pause: neighbours blend across it
DOMINANCE_DECAY_S = 0.045  # how far a phoneme's pull reaches beyond its own interval (1/e distance)
DOMINANCE_REACH = 8  # decay lengths after which a phoneme's pull is ignored (e^-8 < 0.1%)

ENERGY_SAMPLE_RATE_HZ = 16_000
ENERGY_WINDOW_S = 0.03
ENERGY_BAND_HZ = (250.0, 3_500.0)  # where voiced speech energy (and the jaw's openness) shows
ENERGY_RANGE_DB = 28.0  # from the gate (closed) to fully open
ENERGY_GATE_ABS_DB = -50.0  # below this (dBFS) the mouth is closed whatever the loudest part is
ENERGY_BLOCK_HOPS = 4096
ENERGY_PEAK_OPEN = 0.7  # loud speech opens the mouth this far (energy cannot tell an "ah" from an "m")
ENERGY_SPREAD = 0.05
ENERGY_TEETH = 0.6
ENERGY_LOWER = 0.4  # the loudest (widest) energy frames show a little of the lower teeth


@dataclass(frozen=True, slots=True)
class Viseme:
    """A mouth target. `dominance` is how strongly it resists its neighbours (Cohen-Massaro alpha).

    `teeth` is how much of the upper teeth the lips uncover, `lower` the lower teeth (only wide, open
    shapes show them), `tongue` how far the tongue tip comes up behind (t/d/n/l) or between (th) the
    teeth. `group` is the shape's name among the 15 visemes of the Oculus/Meta set (XrFaceTrackingVisemeMETA).
    """

    open: float
    spread: float = 0.0
    teeth: float = 0.5
    dominance: float = 1.0
    closure: bool = False  # lips pressed together (m/b/p) or silent: enforced, not just blended
    lower: float = 0.0
    tongue: float = 0.0
    group: str = ""

    @property
    def press(self) -> bool:
        """Lips pressed together (a bilabial), not merely resting closed (silence)."""
        return self.closure and self.group == "PP"


def _v(group: str, open: float, spread: float = 0.0, teeth: float = 0.5, dominance: float = 1.0, *,
       lower: float = 0.0, tongue: float = 0.0) -> Viseme:
    return Viseme(open, spread, teeth, dominance, False, lower, tongue, group)


# Closures are enforced by the closure mask, so their pull on the neighbours' shapes stays modest.
SILENCE = Viseme(0.0, 0.0, 0.0, 0.3, closure=True, group="sil")
_BILABIAL = Viseme(0.0, 0.0, 0.0, 1.0, closure=True, group="PP")
_NEUTRAL_CONSONANT = _v("kk", 0.25, 0.0, 0.5, 0.4)

# espeak-ng IPA symbol -> viseme. Diphthongs ("aɪ", "oʊ") are split into their symbols.
VISEMES: dict[str, Viseme] = {
    # lips together
    "m": _BILABIAL, "b": _BILABIAL, "p": _BILABIAL, "ɱ": _BILABIAL,
    # lower lip to upper teeth
    "f": _v("FF", 0.14, 0.0, 1.0, 2.0), "v": _v("FF", 0.14, 0.0, 1.0, 2.0),
    # tongue between the teeth
    "θ": _v("TH", 0.16, 0.1, 0.9, 1.2, tongue=1.0), "ð": _v("TH", 0.16, 0.1, 0.9, 1.2, tongue=1.0),
    # alveolars: teeth close together, lips relaxed, the tongue tip up behind the upper teeth
    "s": _v("SS", 0.14, 0.35, 1.0, 1.0), "z": _v("SS", 0.14, 0.35, 1.0, 1.0),
    "t": _v("DD", 0.18, 0.15, 0.8, 0.6, tongue=0.6), "d": _v("DD", 0.2, 0.15, 0.8, 0.6, tongue=0.6),
    "n": _v("nn", 0.2, 0.1, 0.7, 0.5, tongue=0.6), "l": _v("nn", 0.25, 0.1, 0.7, 0.4, tongue=0.85),
    "ɾ": _v("DD", 0.22, 0.1, 0.7, 0.3, tongue=0.5), "ɫ": _v("nn", 0.25, 0.0, 0.6, 0.4, tongue=0.75),
    # post-alveolars: lips pushed forward
    "ʃ": _v("CH", 0.16, -0.55, 0.9, 1.3), "ʒ": _v("CH", 0.16, -0.55, 0.9, 1.3),
    "ɕ": _v("CH", 0.16, -0.3, 0.9, 1.1), "ʑ": _v("CH", 0.16, -0.3, 0.9, 1.1),
    # velars and glottals take most of their shape from the neighbouring vowels
    "k": _v("kk", 0.25, 0.0, 0.5, 0.35), "ɡ": _v("kk", 0.25, 0.0, 0.5, 0.35), "g": _v("kk", 0.25, 0.0, 0.5, 0.35),
    "ŋ": _v("kk", 0.22, 0.0, 0.5, 0.35), "x": _v("kk", 0.25, 0.0, 0.5, 0.35),
    "h": _v("kk", 0.3, 0.0, 0.4, 0.15), "ʔ": _v("kk", 0.2, 0.0, 0.4, 0.2),
    # approximants
    "ɹ": _v("RR", 0.22, -0.45, 0.4, 0.9), "r": _v("RR", 0.22, -0.3, 0.4, 0.7),
    "w": _v("U", 0.12, -0.95, 0.1, 1.6), "ʍ": _v("U", 0.12, -0.95, 0.1, 1.6),
    "j": _v("I", 0.2, 0.5, 0.7, 0.6),
    # open vowels: the widest show the lower teeth too (only they: "rarely are the lower teeth seen")
    "ɑ": _v("aa", 0.95, 0.05, 0.5, lower=0.5), "a": _v("aa", 0.9, 0.2, 0.5, lower=0.7),
    "æ": _v("aa", 0.85, 0.35, 0.6, lower=0.9), "ɐ": _v("aa", 0.6, 0.05, 0.5, lower=0.2),
    "ʌ": _v("aa", 0.65, 0.05, 0.5, lower=0.3), "ɒ": _v("O", 0.8, -0.4, 0.4),
    # mid vowels
    "ɛ": _v("E", 0.6, 0.35, 0.6, lower=0.2), "e": _v("E", 0.5, 0.45, 0.7), "ə": _v("E", 0.42, 0.0, 0.5),
    "ɜ": _v("E", 0.45, -0.1, 0.5), "ɚ": _v("RR", 0.38, -0.35, 0.4), "ɝ": _v("RR", 0.38, -0.35, 0.4),
    "ɔ": _v("O", 0.7, -0.55, 0.4), "o": _v("O", 0.55, -0.7, 0.3), "ø": _v("O", 0.45, -0.7, 0.4),
    "œ": _v("O", 0.55, -0.6, 0.4), "ɤ": _v("E", 0.45, 0.1, 0.5),
    # close vowels
    "i": _v("I", 0.32, 0.85, 0.8), "ɪ": _v("I", 0.4, 0.55, 0.7),
    "ᵻ": _v("I", 0.36, 0.4, 0.7), "ɨ": _v("I", 0.3, 0.3, 0.6), "y": _v("U", 0.26, -0.9, 0.3),
    "ʏ": _v("U", 0.3, -0.7, 0.4), "u": _v("U", 0.34, -0.95, 0.2), "ʊ": _v("U", 0.42, -0.7, 0.3),
    "ɯ": _v("I", 0.3, 0.3, 0.5),
}

# The 15 Oculus/Meta visemes, each with the sound that shows it (and an example), in their usual order:
# the contact sheet and the reference atlas are indexed by these names.
VISEME_GROUPS: dict[str, tuple[str, str]] = {
    "sil": ("_", "silence"), "PP": ("p", "put, bat, mat"), "FF": ("f", "fat, vat"), "TH": ("θ", "think, that"),
    "DD": ("d", "tip, doll"), "kk": ("k", "call, gas"), "CH": ("ʃ", "chair, she"), "SS": ("s", "sir, zeal"),
    "nn": ("l", "lot, not"), "RR": ("ɹ", "red"), "aa": ("ɑ", "car"), "E": ("ɛ", "bed"), "I": ("i", "tip, see"),
    "O": ("o", "toe"), "U": ("u", "book, boot"),
}


# Pauses: silence ("_", as newsroom.tts labels it), punctuation, piper's begin/end markers. A space
# is a word boundary: a pause only when long (see MAX_WORD_GAP_S).
_PAUSES = frozenset("_^$.,;:!?¡¿—–…()\"«»“”")
_WORD_GAPS = frozenset({"", " ", "#", "|", "‖"})
_STRESS = frozenset("ˈˌ")  # espeak puts these before a stressed syllable: their time goes to what follows
_LENGTH = frozenset("ːˑ")  # lengthens the previous sound
_STRIP = frozenset("ˈˌːˑ‿͡-")


@dataclass(frozen=True, slots=True)
class MouthTrack:
    """Per-frame mouth targets, all arrays of length `frames`: what the renderer draws, frame by frame."""

    fps: float
    open: np.ndarray  # 0 closed .. 1 widest
    spread: np.ndarray  # -1 rounded .. +1 spread
    teeth: np.ndarray  # 0 .. 1 visibility of the upper teeth
    source: str  # "phonemes" | "energy"
    lower: np.ndarray | None = None  # 0 .. 1 visibility of the lower teeth
    tongue: np.ndarray | None = None  # 0 .. 1 tongue tip up to the teeth
    press: np.ndarray | None = None  # 0 .. 1 lips pressed together (m/b/p)
    groups: tuple[str, ...] = ()  # per frame: the viseme group being shown ("" when unknown)

    def __post_init__(self) -> None:
        zeros = np.zeros(len(self.open))
        for name in ("lower", "tongue", "press"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, zeros.copy())

    @property
    def frames(self) -> int:
        return len(self.open)


def viseme_for(symbol: str) -> Viseme | None:
    """The viseme of one espeak IPA symbol; None for symbols that carry no mouth shape of their own."""
    if symbol in VISEMES:
        return VISEMES[symbol]
    base = "".join(ch for ch in unicodedata.normalize("NFD", symbol) if not unicodedata.combining(ch))
    base = "".join(ch for ch in base if ch not in _STRIP)
    if not base:
        return None
    if base in VISEMES:
        return VISEMES[base]
    if all(ch in _PAUSES for ch in base):
        return SILENCE
    if base[0].isalpha():
        return VISEMES.get(base[0], _NEUTRAL_CONSONANT)
    return None


def is_pause(symbol: str, duration_s: float) -> bool:
    """A silence between phrases: a pause mark, or a word boundary held longer than `MAX_WORD_GAP_S`."""
    if symbol in _WORD_GAPS or (symbol.strip() == "" and symbol != ""):
        return duration_s > MAX_WORD_GAP_S
    vis = viseme_for(symbol)
    return vis is not None and vis.group == "sil"


def is_sound(symbol: str) -> bool:
    """A phoneme the mouth articulates (bilabial closures included; pauses and marks not)."""
    vis = viseme_for(symbol)
    return vis is not None and vis.group != "sil"


@dataclass(frozen=True, slots=True)
class _Segment:
    start_s: float
    end_s: float
    viseme: Viseme


def _segments(phonemes: Sequence[PhonemeTiming]) -> list[_Segment]:
    """Phoneme timings -> segments with a viseme each (stress/length marks merged into their neighbours)."""
    items: list[tuple[float, float, str]] = [(p.start_s, p.end_s, p.phoneme) for p in phonemes if p.end_s > p.start_s]
    items.sort(key=lambda item: item[0])
    segments: list[_Segment] = []
    pending_start: float | None = None  # a stress mark's time, given to the next sound
    unknown: set[str] = set()
    for start, end, symbol in items:
        if symbol in _WORD_GAPS or (symbol.strip() == "" and symbol != ""):
            if end - start > MAX_WORD_GAP_S:
                segments.append(_Segment(start, end, SILENCE))
            pending_start = None
            continue
        if symbol and all(ch in _STRESS for ch in symbol):
            pending_start = start if pending_start is None else pending_start
            continue
        if symbol and all(ch in _LENGTH for ch in symbol):
            if segments and abs(segments[-1].end_s - start) < 0.05 and not segments[-1].viseme.closure:
                last = segments[-1]
                segments[-1] = _Segment(last.start_s, end, last.viseme)
            continue
        if pending_start is not None:
            start, pending_start = pending_start, None
        parts = [ch for ch in unicodedata.normalize("NFC", symbol) if viseme_for(ch) is not None]
        whole = VISEMES.get(symbol) or (viseme_for(symbol) if len(parts) <= 1 else None)
        if whole is not None:
            segments.append(_Segment(start, end, whole))
            continue
        if not parts:
            unknown.add(symbol)
            continue
        step = (end - start) / len(parts)  # a diphthong or a cluster: its symbols share the time evenly
        for i, ch in enumerate(parts):
            vis = viseme_for(ch)
            assert vis is not None
            segments.append(_Segment(start + i * step, start + (i + 1) * step, vis))
    if unknown:
        log.debug("phonemes without a mouth shape (blended over): %s", " ".join(sorted(unknown)))
    return segments


def _gaussian_smooth(values: np.ndarray, sigma_samples: float) -> np.ndarray:
    if sigma_samples <= 0:
        return values
    radius = max(1, int(round(3 * sigma_samples)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma_samples) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, radius, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def _frame_times(frames: int, fps: float) -> np.ndarray:
    """When each frame's mouth should be shown: the middle of the frame, a little ahead of the sound."""
    return (np.arange(frames) + 0.5) / fps + ANTICIPATION_S


def phoneme_track(phonemes: Sequence[PhonemeTiming], frames: int, fps: float) -> MouthTrack:
    """Mouth targets for `frames` video frames from phoneme timings (dominance blending + closures)."""
    segments = _segments(phonemes)
    duration = max([frames / fps + ANTICIPATION_S + 0.1] + [s.end_s for s in segments])
    t = np.arange(int(np.ceil(duration * TRACK_RATE_HZ)) + 1) / TRACK_RATE_HZ
    if not segments:
        zeros = np.zeros(frames)
        return MouthTrack(fps, zeros, zeros.copy(), zeros.copy(), "phonemes", groups=("sil",) * frames)

    weights = np.full_like(t, 1e-9)
    sums = np.zeros((5, len(t)))
    closed = np.zeros_like(t, dtype=bool)
    pressed = np.zeros_like(t, dtype=bool)
    reach = DOMINANCE_REACH * DOMINANCE_DECAY_S
    for seg in segments:
        # Each phoneme only touches its neighbourhood: linear in the speech length.
        lo = max(0, int((seg.start_s - reach) * TRACK_RATE_HZ))
        hi = min(len(t), int(np.ceil((seg.end_s + reach) * TRACK_RATE_HZ)) + 1)
        near = t[lo:hi]
        distance = np.clip(seg.start_s - near, 0.0, None) + np.clip(near - seg.end_s, 0.0, None)
        dominance = seg.viseme.dominance * np.exp(-distance / DOMINANCE_DECAY_S)
        weights[lo:hi] += dominance
        v = seg.viseme
        sums[:, lo:hi] += dominance * np.array([[v.open], [v.spread], [v.teeth], [v.lower], [v.tongue]])
        if v.closure:
            centre, half = (seg.start_s + seg.end_s) / 2, max(seg.end_s - seg.start_s, MIN_CLOSURE_S) / 2
            a, b = int(np.ceil((centre - half) * TRACK_RATE_HZ)), int(np.floor((centre + half) * TRACK_RATE_HZ)) + 1
            closed[max(0, a):max(0, b)] = True
            if v.press:
                pressed[max(0, a):max(0, b)] = True
    # Before the first and after the last sound the mouth is at rest (closed).
    closed |= (t < segments[0].start_s) | (t > segments[-1].end_s)
    blended = sums / weights
    # Smoothed edges, but fully shut wherever the smoothed mask is near 1 (the middle of every hold).
    closure = np.clip(_gaussian_smooth(closed.astype(np.float64), CLOSURE_SMOOTHING_S * TRACK_RATE_HZ) / 0.9, 0, 1)
    press = np.clip(_gaussian_smooth(pressed.astype(np.float64), 2 * CLOSURE_SMOOTHING_S * TRACK_RATE_HZ) / 0.9, 0, 1)
    sigma = SMOOTHING_S * TRACK_RATE_HZ
    openness = _gaussian_smooth(blended[0], sigma) * (1.0 - closure)
    spread = _gaussian_smooth(blended[1], sigma)
    teeth, lower, tongue = (_gaussian_smooth(blended[k], sigma) * (1.0 - closure) for k in (2, 3, 4))
    times = _frame_times(frames, fps)

    def at(values: np.ndarray, lo: float = 0.0) -> np.ndarray:
        return np.clip(np.interp(times, t, values), lo, 1.0)

    return MouthTrack(fps, at(openness), at(spread, -1.0), at(teeth), "phonemes", lower=at(lower),
                      tongue=at(tongue), press=at(press), groups=_frame_groups(segments, times, closure, t))


def _frame_groups(segments: list[_Segment], times: np.ndarray, closure: np.ndarray, t: np.ndarray) -> tuple[str, ...]:
    """The viseme group each frame shows: the sound under it, "sil" where the mouth rests closed."""
    starts = np.array([s.start_s for s in segments])
    shut = np.interp(times, t, closure) > 0.5
    groups = []
    for time_s, is_shut in zip(times, shut, strict=True):
        k = int(np.searchsorted(starts, time_s, side="right")) - 1
        seg = segments[k] if k >= 0 else None
        if seg is None or time_s > seg.end_s + MAX_WORD_GAP_S:
            groups.append("sil")
        elif is_shut and not seg.viseme.press:
            groups.append("sil" if seg.viseme.closure or time_s > seg.end_s else seg.viseme.group)
        else:
            groups.append(seg.viseme.group)
    return tuple(groups)


def read_mono(path: str | Path, sample_rate_hz: int = ENERGY_SAMPLE_RATE_HZ) -> np.ndarray:
    """Any audio file -> mono float32 samples at `sample_rate_hz` (decoded by ffmpeg through a pipe)."""
    from newsroom.media import process
    from newsroom.media.inputs import input_args

    path = Path(path)
    if not path.is_file():
        raise NewsroomError(f"speech audio {path} does not exist: synthesise the speech first")
    cmd = [process.binary("ffmpeg"), "-hide_banner", "-nostdin", "-v", "error", *input_args(path), "-map", "0:a:0",
           "-ac", "1", "-ar", str(sample_rate_hz), "-f", "f32le", "pipe:1"]
    result = process.run(cmd, what=f"reading the speech audio {path.name}", timeout_s=process.deadline_for(None))
    if result.returncode != 0:
        raise process.classify_failure(f"reading {path.name}", result.returncode, result.stderr) or MediaError(
            f"cannot read the speech audio {path.name}: {process.last_lines(result.stderr)}")
    return np.frombuffer(result.stdout, dtype=np.float32)


def energy_track(samples: np.ndarray, sample_rate_hz: int, frames: int, fps: float) -> MouthTrack:
    """Mouth openness from the voice-band energy of mono `samples`, for speech without phoneme timings.

    Energy in dB (250-3500 Hz, 30 ms windows, 5 ms hop) is mapped linearly from a noise gate (closed) to
    `ENERGY_RANGE_DB` above it (`ENERGY_PEAK_OPEN`: energy cannot tell an open vowel from a loud nasal,
    so it never asks for the widest mouth). The gate sits `ENERGY_RANGE_DB` below the loud speech level
    (95th percentile) and never below `ENERGY_GATE_ABS_DB`, so pauses and room tone keep the mouth shut.
    """
    hop = max(1, sample_rate_hz // TRACK_RATE_HZ)
    window = int(ENERGY_WINDOW_S * sample_rate_hz)
    n_hops = int(np.ceil((frames / fps + ANTICIPATION_S + 0.1) * TRACK_RATE_HZ)) + 1
    padded = np.zeros(n_hops * hop + window, dtype=np.float32)
    usable = samples[: len(padded) - window // 2]
    padded[window // 2 : window // 2 + len(usable)] = usable
    # Frames centred on each hop: a strided view, windowed, band energy from the spectrum (in blocks,
    # so an hour of speech needs no more memory than a minute).
    view = np.lib.stride_tricks.sliding_window_view(padded, window)[::hop][:n_hops]
    taper = np.hanning(window).astype(np.float32)
    freqs = np.fft.rfftfreq(window, 1.0 / sample_rate_hz)
    band = (freqs >= ENERGY_BAND_HZ[0]) & (freqs <= ENERGY_BAND_HZ[1])
    power = np.empty(n_hops)
    for start in range(0, n_hops, ENERGY_BLOCK_HOPS):
        block = np.fft.rfft(view[start:start + ENERGY_BLOCK_HOPS] * taper, axis=1)[:, band]
        power[start:start + ENERGY_BLOCK_HOPS] = (np.abs(block) ** 2).sum(axis=1)
    # Parseval: the mean square of the in-band signal (a full-scale sine in the band reads -3 dBFS).
    power *= 2.0 / (window * float((taper**2).sum()))
    db = 10.0 * np.log10(power + 1e-12)
    t = np.arange(n_hops) / TRACK_RATE_HZ
    loud = db[db > ENERGY_GATE_ABS_DB]
    if loud.size == 0:
        log.debug("speech audio is silent: the mouth stays closed")
        zeros = np.zeros(frames)
        return MouthTrack(fps, zeros, zeros.copy(), zeros.copy(), "energy")
    gate = max(ENERGY_GATE_ABS_DB, float(np.percentile(loud, 95)) - ENERGY_RANGE_DB)
    openness = ENERGY_PEAK_OPEN * np.clip((db - gate) / ENERGY_RANGE_DB, 0.0, 1.0)
    openness = _gaussian_smooth(openness, SMOOTHING_S * 1.5 * TRACK_RATE_HZ)
    openness[openness < 0.03] = 0.0
    times = _frame_times(frames, fps)
    values = np.clip(np.interp(times, t, openness), 0.0, 1.0)
    wide = ENERGY_LOWER * np.clip((values - 0.5 * ENERGY_PEAK_OPEN) / (0.5 * ENERGY_PEAK_OPEN), 0.0, 1.0)
    return MouthTrack(fps, values, np.full(frames, ENERGY_SPREAD), np.where(values > 0, ENERGY_TEETH, 0.0), "energy",
                      lower=wide)


def mouth_track(speech: Speech, frames: int, fps: float) -> MouthTrack:
    """Targets from the speech's phoneme timings when it has them, else from its audio energy."""
    if speech.phonemes:
        return phoneme_track(speech.phonemes, frames, fps)
    log.info("%s speech has no phoneme timings: animating the mouth from audio energy", speech.engine)
    return energy_track(read_mono(speech.path), ENERGY_SAMPLE_RATE_HZ, frames, fps)
