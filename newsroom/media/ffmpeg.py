"""ffmpeg/ffprobe as subprocesses: running ffmpeg with a decode report, normalising to the mezzanine, the
proxy, audio extraction (`probe` is in `newsroom.media.probing`).

Why subprocess rather than PyAV or ffmpeg-python: the ffmpeg command line is the interface every
media engineer already knows and can paste into a shell to reproduce a problem, Debian's build brings
libx264/libass/drawtext without extra wheels, and `-progress pipe:1` gives clean progress. PyAV stays
an option for frame-level work in later stages.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from newsroom.errors import MediaError, NoAudioError
from newsroom.media import process
from newsroom.media.graph import Filter, chain
from newsroom.media.inputs import check_inputs, input_args
from newsroom.media.probing import probe
from newsroom.types import MediaInfo

if TYPE_CHECKING:
    from newsroom.media.damage import Damage

log = logging.getLogger("newsroom.media")

Progress = Callable[[float], None]  # fraction done, 0.0 .. 1.0

ASR_SAMPLE_RATE_HZ = 16_000
MEZZANINE_AUDIO_RATE_HZ = 48_000
STANDARD_FPS = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0)
MAX_FPS = 60.0
DEFAULT_FPS = 25.0
PROXY_HEIGHT_PX = 360
MAX_DECODE_ISSUES_KEPT = 50

# Public names for what other modules used to import privately.
binary = process.binary
last_lines = process.last_lines


# ------------------------------------------------------------------------------------ decode reports

_STREAM_ERROR_RE = re.compile(r"Error while decoding stream #\d+:(\d+)")
_CONCEAL_RE = re.compile(r"^\[\w+ @ [^\]]+\] (concealing \d+ DC|error while decoding MB)")
_PROGRESS_RE = re.compile(r"^[a-z_0-9]+=\S*$")


@dataclass(frozen=True, slots=True)
class DecodeIssue:
    """One damaged frame or packet ffmpeg concealed or dropped: near `time_s` of the output."""

    time_s: float | None
    stream: int | None  # the input stream's index; None: a video frame of the first video stream
    message: str


@dataclass(frozen=True, slots=True)
class DecodeReport:
    """What one ffmpeg run decoded: damaged frames, how far the output got, its peak memory."""

    issues: tuple[DecodeIssue, ...] = ()
    issue_count: int = 0
    out_time_s: float | None = None
    elapsed_s: float = 0.0
    maxrss_kib: int = 0

    @property
    def damaged(self) -> bool:
        return self.issue_count > 0


class _FfmpegOutput:
    """Parses ffmpeg's merged progress + error output line by line."""

    def __init__(self, duration_s: float | None, progress: Progress | None) -> None:
        self.duration_s, self.progress = duration_s, progress
        self.out_time_s: float | None = None
        self.issues: list[DecodeIssue] = []
        self.issue_count = 0
        self.log: list[str] = []

    def __call__(self, line: str) -> None:
        line = line.rstrip("\r\n")
        if _PROGRESS_RE.match(line):
            key, _, value = line.partition("=")
            if key == "out_time_us" and value.lstrip("-").isdigit():
                self.out_time_s = max(0.0, int(value) / 1e6)
                if self.progress and self.duration_s:
                    self.progress(min(1.0, self.out_time_s / self.duration_s))
            return
        if not line.strip():
            return
        self.log.append(line)
        if len(self.log) > 400:
            del self.log[:200]
        stream_error = _STREAM_ERROR_RE.search(line)
        if stream_error or _CONCEAL_RE.match(line):
            self.issue_count += 1
            if len(self.issues) < MAX_DECODE_ISSUES_KEPT:
                stream = int(stream_error.group(1)) if stream_error else None
                self.issues.append(DecodeIssue(self.out_time_s, stream, line.strip()[:200]))


def run_ffmpeg(
    args: Sequence[str], *, duration_s: float | None = None, progress: Progress | None = None,
    what: str = "ffmpeg", output: str | Path | None = None, timeout_s: float | None = None,
) -> DecodeReport:
    """Run ffmpeg with `args` under a deadline (scaled to `duration_s` unless `timeout_s` is given).

    Decode errors are not fatal: ffmpeg conceals them and they are counted in the returned report (callers
    reading untrusted media judge it with `newsroom.media.damage`). A failed run removes `output` and raises
    TransientError for the machine's faults (killed, disk full, deadline) and MediaError otherwise.
    Every file input must be gated (`newsroom.media.inputs.input_args`) or have an explicit `-f`.
    """
    args = [str(a) for a in args]
    check_inputs(args)
    cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-v", "error",
           "-progress", "pipe:1", "-stats_period", "0.5", "-nostats", *args]
    parsed = _FfmpegOutput(duration_s, progress)
    deadline = timeout_s if timeout_s is not None else process.deadline_for(duration_s)
    try:
        done = process.run(cmd, what=what, timeout_s=deadline, on_line=parsed, merge_stderr=True)
    except BaseException:
        if output is not None:
            Path(output).unlink(missing_ok=True)
        raise
    if not done.ok:
        if output is not None:
            Path(output).unlink(missing_ok=True)
        text = "\n".join(parsed.log)
        transient = process.classify_failure(what, done.returncode, text)
        if transient is not None:
            raise transient
        hint = ": the source may be truncated or corrupt" if parsed.issue_count else ""
        raise MediaError(f"{what} failed: {last_lines(text)}{hint}")
    if parsed.issue_count:
        log.debug("%s: %d damaged frame(s) concealed", what, parsed.issue_count)
    if progress:
        progress(1.0)
    return DecodeReport(tuple(parsed.issues), parsed.issue_count, parsed.out_time_s, done.elapsed_s, done.maxrss_kib)


def target_fps(info: MediaInfo) -> float:
    """A constant frame rate for the mezzanine: the average rate snapped to a standard one."""
    v = info.video
    rate = (v.avg_fps or v.fps) if v else None
    if not rate:
        return DEFAULT_FPS
    for standard in STANDARD_FPS:
        if abs(rate - standard) / standard < 0.01:
            return standard
    return round(min(rate, MAX_FPS), 3)


def _even_scale(max_height: int | None = None) -> Filter:
    if max_height:
        return Filter("scale", -2, f"min({max_height},trunc(ih/2)*2)")
    return Filter("scale", "trunc(iw/2)*2", "trunc(ih/2)*2")


def copyable_video(info: MediaInfo) -> bool:
    """True when the source's video already is mezzanine video (progressive H.264 yuv420p, even size, a
    constant standard frame rate, in MP4/MOV): it is stream-copied instead of re-encoded, which is faster
    and loses nothing (a phone's 1080p H.264 would otherwise cost more than the rest of ingest)."""
    v = info.video
    if v is None or v.codec != "h264" or v.pix_fmt != "yuv420p" or info.is_interlaced or info.is_variable_frame_rate:
        return False
    if not v.width or not v.height or v.width % 2 or v.height % 2:
        return False
    rate = v.avg_fps or v.fps
    if not rate or not any(abs(rate - standard) / standard < 0.001 for standard in STANDARD_FPS):
        return False
    return bool({"mp4", "mov"} & set(info.format_name.split(",")))


def _copyable_audio(info: MediaInfo) -> bool:
    a = info.audio
    return bool(a and a.codec == "aac" and a.sample_rate_hz == MEZZANINE_AUDIO_RATE_HZ and (a.channels or 0) <= 2)


OnDamage = Callable[["Damage"], None]


def _checked(kind: str, info: MediaInfo, report: DecodeReport, src: str | Path, on_damage: OnDamage | None, *,
             output: Path | str) -> None:
    """Judge the damage a decode of the untrusted `src` met (raises beyond the tolerance, removing `output`),
    and pass a tolerated damage to `on_damage` so the caller can record it."""
    from newsroom.media.damage import assess, judge, with_times

    try:
        damage = judge(assess(kind, info, report), info, name=Path(src).name)
    except BaseException:
        Path(output).unlink(missing_ok=True)
        raise
    if damage.any:
        damage = with_times(damage, src, info)
        log.warning("%s: %s (accepted)", Path(src).name, damage.describe())
        if on_damage is not None:
            on_damage(damage)


def normalise(
    src: str | Path, dst: str | Path, info: MediaInfo | None = None, *, progress: Progress | None = None,
    on_damage: OnDamage | None = None,
) -> Path:
    """The mezzanine: H.264 (yuv420p, constant frame rate) + AAC 48 kHz in MP4, or AAC in M4A for audio.

    Streams that already conform (`copyable_video`, AAC at 48 kHz) are copied, not re-encoded. Damaged or
    cut-off streams are judged (`newsroom.media.damage`): tolerated damage goes to `on_damage`, more raises.
    """
    info = info or probe(src)
    dst = Path(dst)
    args: list[str] = input_args(src)
    if info.has_video and copyable_video(info):
        log.info("%s: the video is already mezzanine H.264; copying it", Path(src).name)
        args += ["-map", "0:v:0", "-map", "0:a:0?", "-c:v", "copy"]
    elif info.has_video:
        filters = [_even_scale()]
        if info.is_interlaced:
            filters.insert(0, Filter("bwdif", mode="send_frame"))
        args += [
            "-map", "0:v:0", "-map", "0:a:0?",
            "-vf", chain(filters),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
            "-fps_mode", "cfr", "-r", f"{target_fps(info):g}",
        ]
    else:
        args += ["-map", "0:a:0", "-vn"]
    if info.has_audio and _copyable_audio(info):
        args += ["-c:a", "copy"]
    elif info.has_audio:
        args += ["-c:a", "aac", "-b:a", "192k", "-ar", str(MEZZANINE_AUDIO_RATE_HZ)]
    args += ["-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(dst)]
    report = run_ffmpeg(args, duration_s=info.duration_s, progress=progress, what=f"normalising {Path(src).name}",
                        output=dst)
    for kind in ("video", "audio"):
        if (kind == "video" and info.has_video) or (kind == "audio" and info.has_audio):
            _checked(kind, info, report, src, on_damage, output=dst)
    return dst


def make_proxy(
    src: str | Path, dst: str | Path, info: MediaInfo | None = None, *, progress: Progress | None = None,
    on_damage: OnDamage | None = None,
) -> Path:
    """A small, quick-to-scrub copy: 360p H.264 + 96 kb/s AAC (audio-only sources: AAC only).

    A source that is already mezzanine H.264 at 360p or less keeps its video (copied). When the mezzanine
    copied the video, this is where it is decoded, so the damage check happens here."""
    info = info or probe(src)
    args: list[str] = input_args(src)
    decodes_video = False
    if info.video is not None and copyable_video(info) and (info.video.height or 0) <= PROXY_HEIGHT_PX:
        args += ["-map", "0:v:0", "-map", "0:a:0?", "-c:v", "copy"]
    elif info.has_video:
        decodes_video = True
        args += [
            "-map", "0:v:0", "-map", "0:a:0?", "-vf", _even_scale(PROXY_HEIGHT_PX),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p",
        ]
    else:
        args += ["-map", "0:a:0", "-vn"]
    if info.has_audio:
        args += ["-c:a", "aac", "-b:a", "96k", "-ac", "2"]
    args += ["-movflags", "+faststart", "-f", "mp4", str(dst)]
    report = run_ffmpeg(args, duration_s=info.duration_s, progress=progress,
                        what=f"making a proxy of {Path(src).name}", output=dst)
    if info.has_video and copyable_video(info):  # the mezzanine copied the video: check it here
        if not decodes_video:  # ... and so did the proxy: decode it once just to check (small: <= 360p)
            report = run_ffmpeg([*input_args(src), "-map", "0:v:0", "-f", "null", "-"], duration_s=info.duration_s,
                                what=f"checking the video of {Path(src).name}")
        _checked("video", info, report, src, on_damage, output=dst)
    return Path(dst)


def extract_audio(
    src: str | Path, dst: str | Path, info: MediaInfo | None = None, *,
    sample_rate_hz: int = ASR_SAMPLE_RATE_HZ, progress: Progress | None = None, on_damage: OnDamage | None = None,
) -> Path:
    """Mono 16-bit WAV at `sample_rate_hz` (16 kHz for speech recognition). The audio's damage is judged
    here (`newsroom.media.damage`): a few broken frames are concealed and reported, more is refused."""
    info = info or probe(src)
    if not info.has_audio:
        raise NoAudioError(
            f"{Path(src).name} has no audio track: there is nothing to transcribe "
            "(add the programme sound, or skip transcription for silent footage)"
        )
    args = [
        *input_args(src), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate_hz),
        "-c:a", "pcm_s16le", "-f", "wav", str(dst),
    ]
    report = run_ffmpeg(args, duration_s=info.duration_s, progress=progress,
                        what=f"extracting audio from {Path(src).name}", output=dst)
    _checked("audio", info, report, src, on_damage, output=dst)
    return Path(dst)
