"""Loudness: EBU R128 measurement and two-pass mastering with ffmpeg (`loudnorm`, verified by `ebur128`).

Profiles: `broadcast` = EBU R128 (-23 LUFS integrated, true peak <= -1 dBTP); `web` = -16 LUFS (the
common streaming/podcast level), same true-peak ceiling.

For audio still in memory (a voice's read before it is written), `integrated_lufs`, `true_peak_dbtp`
and `level` do the same in numpy: ITU-R BS.1770-4 K-weighting and gating, a 4x-oversampled true peak,
and a look-ahead peak limiter, so a voice leaves at a set loudness without an ffmpeg round trip.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroom.errors import ConfigError, MediaError
from newsroom.media import Progress, probe, process, run_ffmpeg
from newsroom.media.ffmpeg import binary, last_lines
from newsroom.media.graph import Filter
from newsroom.media.inputs import input_args

log = logging.getLogger("newsroom.audio.loudness")


@dataclass(frozen=True, slots=True)
class LoudnessTarget:
    name: str
    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float


PROFILES = {
    "broadcast": LoudnessTarget("broadcast", -23.0, -1.0, 15.0),
    "web": LoudnessTarget("web", -16.0, -1.0, 11.0),
}
TOLERANCE_LU = 1.0


@dataclass(frozen=True, slots=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float

    def meets(self, target: LoudnessTarget, tolerance_lu: float = TOLERANCE_LU) -> bool:
        return (abs(self.integrated_lufs - target.integrated_lufs) <= tolerance_lu
                and self.true_peak_dbtp <= target.true_peak_dbtp + 0.1)


def profile(name: str) -> LoudnessTarget:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown loudness profile {name!r}: choose one of {', '.join(PROFILES)}") from None


def measure(path: str | Path) -> Loudness:
    """Integrated loudness, true peak and loudness range per EBU R128 (ffmpeg's ebur128 filter)."""
    cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin", "-nostats", *input_args(path), "-map", "0:a:0",
           "-af", Filter("ebur128", peak="true"), "-f", "null", "-"]
    what = f"measuring the loudness of {Path(path).name}"
    result = process.run(cmd, what=what, timeout_s=process.deadline_for(None))
    if result.returncode != 0:
        raise process.classify_failure(what, result.returncode, result.stderr) or MediaError(
            f"cannot measure loudness of {Path(path).name}: {last_lines(result.stderr)}")
    summary = result.stderr[result.stderr.rfind("Summary:"):]
    values = {}
    for label, key in (("I:", "i"), ("LRA:", "lra"), ("Peak:", "tp")):
        match = re.search(rf"{re.escape(label)}\s+(-?[\d.]+|-inf)", summary)
        if not match:
            raise MediaError(f"no loudness summary for {Path(path).name}: is there an audio track?")
        values[key] = float("-inf") if match.group(1) == "-inf" else float(match.group(1))
    return Loudness(values["i"], values["tp"], values["lra"])


def first_pass_filter(aim: LoudnessTarget) -> Filter:
    """The `loudnorm` analysis filter: append it to any audio chain and run `analyse` on the command."""
    return Filter("loudnorm", I=aim.integrated_lufs, TP=aim.true_peak_dbtp, LRA=aim.lra_lu, print_format="json")


def analyse(args: list[str], what: str) -> dict:
    """Run an ffmpeg analysis command whose audio ends in `first_pass_filter` (output `-f null -`).

    Returns loudnorm's measurement; MediaError when the audio is silent (nothing to master).
    """
    from newsroom.media.inputs import check_inputs

    check_inputs(args)
    cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin", "-nostats", *args]
    result = process.run(cmd, what=f"analysing the loudness of {what}", timeout_s=process.deadline_for(None))
    start = result.stderr.rfind("{")
    if result.returncode != 0 or start < 0:
        raise process.classify_failure(f"analysing the loudness of {what}", result.returncode, result.stderr) or \
            MediaError(f"cannot analyse the loudness of {what}: {last_lines(result.stderr)}")
    measured = json.loads(result.stderr[start:result.stderr.rfind("}") + 1])
    if measured["input_i"] in ("-inf", "inf") or float(measured["input_i"]) < -70:
        raise MediaError(f"{what} is silent: there is nothing to master")
    return measured


def second_pass_filter(measured: dict, aim: LoudnessTarget) -> Filter:
    """The linear `loudnorm` that moves audio with `measured` (from `analyse`) to `aim`."""
    return Filter(
        "loudnorm", I=f"{aim.integrated_lufs:.2f}", TP=f"{aim.true_peak_dbtp:.2f}", LRA=aim.lra_lu,
        measured_I=measured["input_i"], measured_TP=measured["input_tp"], measured_LRA=measured["input_lra"],
        measured_thresh=measured["input_thresh"], offset=measured["target_offset"], linear="true",
        print_format="summary",
    )


def master(src: str | Path, dst: str | Path, target: LoudnessTarget | str = "broadcast", *,
           progress: Progress | None = None, attempts: int = 3) -> Loudness:
    """Two-pass loudnorm to the target (video and subtitles copied), verified with ebur128.

    When loudnorm cannot stay linear (the gain would push peaks over the ceiling) its dynamic mode may
    land off target; the next attempt aims past the miss (lower ceiling, corrected level).
    """
    target = profile(target) if isinstance(target, str) else target
    src, dst = Path(src), Path(dst)
    info = probe(src)
    if not info.has_audio:
        raise MediaError(f"{src.name} has no audio to master")
    aim = target
    result = None
    for attempt in range(1, attempts + 1):
        _normalise_once(src, dst, aim, info.duration_s, progress)
        result = measure(dst)
        if result.meets(target, tolerance_lu=0.5):
            break
        log.info("attempt %d: %.1f LUFS / %.1f dBTP misses %s; correcting", attempt, result.integrated_lufs,
                 result.true_peak_dbtp, target.name)
        aim = LoudnessTarget(
            target.name,
            aim.integrated_lufs + (target.integrated_lufs - result.integrated_lufs),
            min(aim.true_peak_dbtp, aim.true_peak_dbtp - max(0.0, result.true_peak_dbtp - target.true_peak_dbtp) - 0.3),
            target.lra_lu,
        )
    assert result is not None
    log.info("%s mastered to %.1f LUFS, %.1f dBTP (target %s)", dst.name, result.integrated_lufs,
             result.true_peak_dbtp, target.name)
    return result


def _normalise_once(src: Path, dst: Path, aim: LoudnessTarget, duration_s: float, progress: Progress | None) -> None:
    measured = analyse([*input_args(src), "-map", "0:a:0", "-af", first_pass_filter(aim), "-f", "null", "-"], src.name)
    args = [*input_args(src), "-map", "0:v:0?", "-map", "0:a:0", "-map", "0:s?", "-c:v", "copy", "-c:s", "copy",
            "-af", second_pass_filter(measured, aim), "-c:a", "aac", "-b:a", "192k", "-ar", "48000",
            "-movflags", "+faststart", str(dst)]
    run_ffmpeg(args, duration_s=duration_s, progress=progress, what=f"mastering {src.name} ({aim.name})", output=dst)


# --------------------------------------------------------------------------- in memory (BS.1770-4)

GATE_BLOCK_S = 0.4
GATE_STEP_S = 0.1  # 75 % overlap
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
TRUE_PEAK_OVERSAMPLING = 4
LIMITER_WINDOW_S = 0.005  # the gain dips over +-5 ms around a peak: no click, no audible pumping on speech


def _k_weighting(rate_hz: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """BS.1770's two biquads (high shelf, then RLB high-pass) for any rate (libebur128's derivation)."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / rate_hz)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = (np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]),
             np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / rate_hz)
    a0 = 1 + k / q + k * k
    highpass = (np.array([1.0, -2.0, 1.0]), np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    return shelf, highpass


def integrated_lufs(audio: np.ndarray, rate_hz: int) -> float:
    """Integrated loudness of mono audio in [-1, 1] (LUFS; -inf when silent or shorter than one block)."""
    from scipy.signal import lfilter

    x = np.asarray(audio, dtype=np.float64).ravel()
    for b, a in _k_weighting(rate_hz):
        x = lfilter(b, a, x)
    block, step = round(GATE_BLOCK_S * rate_hz), round(GATE_STEP_S * rate_hz)
    if len(x) < block:
        return float("-inf")
    power = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = np.arange(0, len(x) - block + 1, step)
    z = (power[starts + block] - power[starts]) / block
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(z)
    z = z[loudness > ABSOLUTE_GATE_LUFS]
    if z.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(z.mean()) + RELATIVE_GATE_LU
    z = z[-0.691 + 10 * np.log10(z) > relative]
    return float(-0.691 + 10 * np.log10(z.mean()))


def _oversampled_envelope(audio: np.ndarray) -> np.ndarray:
    """Per input sample, the largest magnitude of the 4x-oversampled signal around it."""
    from scipy.signal import resample_poly

    n = len(audio)
    up = np.abs(resample_poly(np.asarray(audio, dtype=np.float64), TRUE_PEAK_OVERSAMPLING, 1))
    return up[: n * TRUE_PEAK_OVERSAMPLING].reshape(n, TRUE_PEAK_OVERSAMPLING).max(axis=1)


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak (4x oversampled, BS.1770-4 Annex 2) in dBTP; -inf for silence."""
    if len(audio) == 0:
        return float("-inf")
    peak = float(_oversampled_envelope(audio).max())
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def _limit(audio: np.ndarray, rate_hz: int, ceiling_dbtp: float) -> np.ndarray:
    """Pull the true peaks under the ceiling with a smooth gain that never exceeds what each peak needs."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    ceiling = 10 ** (ceiling_dbtp / 20)
    needed = np.minimum(1.0, ceiling / np.maximum(_oversampled_envelope(audio), 1e-12))
    width = 2 * max(1, round(LIMITER_WINDOW_S * rate_hz)) + 1
    # Each averaged value only sees minima taken over windows that contain its own sample: <= needed.
    gain = uniform_filter1d(minimum_filter1d(needed, width, mode="nearest"), width, mode="nearest")
    return (audio * np.minimum(gain, needed)).astype(np.float32)


def level(audio: np.ndarray, rate_hz: int, lufs: float, ceiling_dbtp: float, *, attempts: int = 4) -> np.ndarray:
    """Mono audio brought to `lufs` integrated with its true peak at or under `ceiling_dbtp`.

    Gain to the target; peaks over the ceiling are limited (aiming 0.2 dB under it), which lowers the
    loudness a little, so the gain is corrected and the peaks limited again until both hold. Audio too
    short to measure (< 400 ms) only has its peaks limited; silence comes back unchanged.
    """
    y = np.asarray(audio, dtype=np.float32)
    for _ in range(attempts):
        measured = integrated_lufs(y, rate_hz)
        if not np.isfinite(measured):  # silence, or shorter than one 400 ms block: only the ceiling applies
            return _limit(y, rate_hz, ceiling_dbtp - 0.2) if true_peak_dbtp(y) > ceiling_dbtp else y
        y = (y * 10 ** ((lufs - measured) / 20)).astype(np.float32)
        if true_peak_dbtp(y) <= ceiling_dbtp:
            return y
        y = _limit(y, rate_hz, ceiling_dbtp - 0.2)
        if abs(integrated_lufs(y, rate_hz) - lufs) <= 0.2:
            break
    if true_peak_dbtp(y) > ceiling_dbtp:  # never leave over the ceiling, even if a little under the level
        y = _limit(y, rate_hz, ceiling_dbtp - 0.2)
    return y
