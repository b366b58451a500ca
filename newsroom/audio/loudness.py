"""Loudness: EBU R128 measurement and two-pass mastering with ffmpeg (`loudnorm`, verified by `ebur128`).

Profiles: `broadcast` = EBU R128 (-23 LUFS integrated, true peak <= -1 dBTP); `web` = -16 LUFS (the
common streaming/podcast level), same true-peak ceiling.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

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
