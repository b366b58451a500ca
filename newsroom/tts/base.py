"""The voice interface and what every engine shares: pauses, resampling, the WAV file, the timings.

An engine only turns one bounded chunk of text into audio at its own rate (`Rendered`, with per-phoneme
sample counts and word spans when it has them). `speak` reads the chunks in order, puts a pause after
each, resamples the whole read once to the delivery rate, writes one 16-bit mono WAV and converts every
timing to seconds on the delivered samples, so phoneme timings tile the file exactly.
"""

from __future__ import annotations

import logging
import math
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from newsroom.errors import MediaError
from newsroom.tts.text import Chunk
from newsroom.types import PhonemeTiming, Speech, WordTiming

if TYPE_CHECKING:
    from newsroom.audio.loudness import LoudnessTarget

log = logging.getLogger("newsroom.tts")

SILENCE = "_"  # the phoneme label of silence: before/after a sentence and the pauses between them
MAX_WAV_VALUE = 32767

Progress = Callable[[float], None]


@runtime_checkable
class Voice(Protocol):
    """A loaded voice: `synthesize` reads a script into one WAV file and returns its timings."""

    language: str
    engine: str

    def synthesize(self, text: str, out_wav: str | Path, *, progress: Progress | None = None) -> Speech: ...


@dataclass(frozen=True, slots=True)
class Rendered:
    """One chunk as an engine renders it, at the engine's own rate.

    `phonemes`: (label, samples) covering the audio exactly, or empty when the engine gives none.
    `words`: (written word, first sample, end sample) within this audio.
    """

    audio: np.ndarray
    sample_rate_hz: int
    phonemes: tuple[tuple[str, int], ...] = ()
    words: tuple[tuple[str, int, int], ...] = ()


def _merge_silence(units: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Adjacent silences become one; units without samples disappear (they do not move any time)."""
    out: list[tuple[str, int]] = []
    for label, n in units:
        if n <= 0:
            continue
        if out and label == SILENCE and out[-1][0] == SILENCE:
            out[-1] = (SILENCE, out[-1][1] + n)
        else:
            out.append((label, n))
    return out


def _resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return audio
    from scipy.signal import resample_poly

    g = math.gcd(rate_in, rate_out)
    return resample_poly(audio, rate_out // g, rate_in // g).astype(np.float32)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate_hz: int) -> None:
    """Float audio in [-1, 1] as a 16-bit mono PCM WAV."""
    pcm = np.clip(np.round(audio * MAX_WAV_VALUE), -MAX_WAV_VALUE, MAX_WAV_VALUE).astype("<i2")
    try:
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate_hz)
            wav.writeframes(pcm.tobytes())
    except OSError as exc:
        raise MediaError(f"cannot write {path}: {exc} (check the folder exists and is writable)") from exc


def speak(
    chunks: Sequence[Chunk],
    render: Callable[[Chunk], Rendered],
    out_wav: str | Path,
    *,
    sample_rate_hz: int,
    language: str,
    engine: str,
    text: str,
    progress: Progress | None = None,
    loudness: LoudnessTarget | None = None,
    edge_s: float = 0.0,
) -> Speech:
    """Render every chunk, join them with their pauses, deliver one WAV at `sample_rate_hz`.

    With `loudness` the whole read (one gain, so sentences keep their relative level) is brought to its
    integrated loudness with the true peak at or under its ceiling, on the delivered samples. `edge_s`:
    silence before the first word and after the last (for engines that trim their reads to the speech).
    """
    started = time.perf_counter()
    parts: list[np.ndarray] = []
    units: list[tuple[str, int]] = []
    words: list[tuple[str, int, int]] = []
    with_phonemes = True
    rate = 0
    offset = 0
    for i, chunk in enumerate(chunks):
        rendered = render(chunk)
        if rate and rendered.sample_rate_hz != rate:
            raise MediaError(f"{engine} changed its sample rate mid-script ({rate} -> {rendered.sample_rate_hz} Hz)")
        rate = rendered.sample_rate_hz
        if i == 0 and edge_s > 0:
            lead = round(edge_s * rate)
            parts.append(np.zeros(lead, dtype=np.float32))
            units.append((SILENCE, lead))
            offset += lead
        audio = np.asarray(rendered.audio, dtype=np.float32).ravel()
        parts.append(audio)
        with_phonemes = with_phonemes and bool(rendered.phonemes)
        units.extend(rendered.phonemes)
        words.extend((w, offset + a, offset + b) for w, a, b in rendered.words)
        offset += len(audio)
        if i < len(chunks) - 1:
            pause = round(chunk.pause_after_s * rate)
            parts.append(np.zeros(pause, dtype=np.float32))
            units.append((SILENCE, pause))
            offset += pause
        if progress:
            progress((i + 1) / len(chunks))
    if edge_s > 0 and rate:
        tail = round(edge_s * rate)
        parts.append(np.zeros(tail, dtype=np.float32))
        units.append((SILENCE, tail))

    audio = _resample(np.concatenate(parts), rate, sample_rate_hz)
    if loudness is not None:
        from newsroom.audio.loudness import level

        audio = level(audio, sample_rate_hz, loudness.integrated_lufs, loudness.true_peak_dbtp)
    total = len(audio)
    write_wav(out_wav, audio, sample_rate_hz)

    def at(sample: int) -> int:
        """A sample index at the engine rate -> the same instant on the delivered samples."""
        return min(total, round(sample * sample_rate_hz / rate))

    phonemes: list[PhonemeTiming] = []
    if with_phonemes:
        position = 0
        merged = _merge_silence(units)
        for j, (label, n) in enumerate(merged):
            start, end = at(position), (total if j == len(merged) - 1 else at(position + n))
            phonemes.append(PhonemeTiming(label, start / sample_rate_hz, end / sample_rate_hz))
            position += n
    word_timings = tuple(
        WordTiming(w, at(a) / sample_rate_hz, at(max(a, b)) / sample_rate_hz) for w, a, b in words
    )
    duration_s = total / sample_rate_hz
    took = time.perf_counter() - started
    log.info("%s read %d chunk(s): %.2f s of %s speech in %.2f s (RTF %.2f) -> %s",
             engine, len(chunks), duration_s, language, took, took / max(duration_s, 1e-9), out_wav)
    return Speech(
        path=str(out_wav),
        sample_rate_hz=sample_rate_hz,
        duration_s=duration_s,
        language=language,
        engine=engine,
        text=text,
        phonemes=tuple(phonemes),
        words=word_timings,
    )
