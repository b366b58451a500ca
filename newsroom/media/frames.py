"""Raw RGB frames in and out of ffmpeg through pipes (no temporary image files).

- `read_frames` / `read_frame`: frames at a size the caller knows (rawvideo);
- `decode_frame_at` / `decode_frames_at`: frames at the size ffmpeg decides (rotation, square pixels, an
  optional analysis scale), with each frame's own timestamp (PPM through a pipe);
- `FrameWriter`: RGB frames into an H.264 file.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from newsroom.errors import MediaError
from newsroom.media import process
from newsroom.media.ffmpeg import binary, last_lines
from newsroom.media.graph import Filter, chain
from newsroom.media.inputs import input_args

log = logging.getLogger("newsroom.media")


def read_frames(
    path: str | Path, *, width: int, height: int, fps: float, start_frame: int = 0, count: int | None = None,
    every: int = 1, filters: Sequence[Filter] = (),
) -> Iterator[np.ndarray]:
    """Decode frames [start_frame, start_frame + count) of a constant-frame-rate video as RGB uint8 arrays.

    Input seeking with -ss is frame-accurate when decoding; seeking a quarter frame early makes the first
    frame whose timestamp is >= the target exactly `start_frame`. With `every` > 1 only every `every`-th
    frame from there is piped out (`count` then counts those); `filters` see every decoded frame first, at
    the source's size (e.g. `scdet` writing its cut times to a file while the frames are sampled).
    """
    if every < 1:
        raise ValueError(f"every must be >= 1, not {every}")
    cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin", "-v", "error"]
    if start_frame > 0:
        cmd += ["-ss", f"{(start_frame - 0.25) / fps:.6f}"]
    cmd += [*input_args(path), "-map", "0:v:0", "-an", "-sn"]
    if count is not None:
        cmd += ["-frames:v", str(count)]
    picked = [Filter("select", f"not(mod(n,{every}))")] if every > 1 else []
    cmd += ["-vf", chain([*filters, *picked, Filter("scale", width, height)])]
    if every > 1:
        cmd += ["-fps_mode", "passthrough"]  # the picked frames as they are, not re-timed to a constant rate
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    frame_bytes = width * height * 3
    frames_expected = count if count is not None else None
    child = process.Child(cmd, what=f"decoding frames of {Path(path).name}", stdout=True,
                          timeout_s=process.deadline_for(frames_expected * every / fps if frames_expected else None))
    finished = False
    try:
        while True:
            buf = child.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            yield np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3)
        finished = True
    finally:
        child.stdout.close()
        if not finished:  # the consumer stopped early (or failed): stop decoding
            child.kill()
    done = child.wait()
    if done.returncode not in (0, -13, 255) and done.stderr:  # -13/255: a closed pipe
        raise process.classify_failure("decoding frames", done.returncode, done.stderr) or MediaError(
            f"decoding frames of {Path(path).name} failed: {last_lines(done.stderr)}")


def read_frame(path: str | Path, time_s: float, *, width: int, height: int) -> np.ndarray:
    """One RGB frame at `time_s` (nearest frame at or after it)."""
    cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin", "-v", "error", "-ss", f"{max(0.0, time_s):.6f}",
           *input_args(path), "-map", "0:v:0", "-frames:v", "1", "-vf", Filter("scale", width, height),
           "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    result = process.run(cmd, what=f"reading a frame of {Path(path).name}", timeout_s=process.deadline_for(None))
    if result.returncode != 0 or len(result.stdout) < width * height * 3:
        raise process.classify_failure("reading a frame", result.returncode, result.stderr) or MediaError(
            f"no frame at {time_s:.2f}s in {Path(path).name}: {last_lines(result.stderr)}")
    return np.frombuffer(result.stdout[: width * height * 3], dtype=np.uint8).reshape(height, width, 3)



# --- frames at ffmpeg's size, with their timestamps (PPM) ----------------------------------------

_PPM_HEADER = re.compile(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s")
_PTS_TIME = re.compile(r"\bpts_time:\s*(-?[0-9.]+(?:e[-+]?\d+)?)")


def parse_ppms(data: bytes) -> list[np.ndarray]:
    """Frames from a stream of binary PPMs (ffmpeg's image2pipe with the ppm encoder)."""
    frames, offset = [], 0
    while (match := _PPM_HEADER.match(data, offset)) is not None:
        width, height, maxval = (int(g) for g in match.groups())
        end = match.end() + width * height * 3
        if maxval != 255 or end > len(data):
            break
        pixels = np.frombuffer(data, dtype=np.uint8, count=width * height * 3, offset=match.end())
        frames.append(pixels.reshape(height, width, 3))
        offset = end
    return frames


def _frame_filters(max_side: int | None) -> list[Filter]:
    # Square pixels first (anamorphic sources), then the optional analysis scale, which never enlarges.
    filters = [Filter("scale", "max(1,round(iw*sar))", "ih"), Filter("setsar", 1)]
    if max_side:
        filters.append(Filter("scale", f"min(iw,{max_side})", f"min(ih,{max_side})",
                              force_original_aspect_ratio="decrease"))
    return [*filters, Filter("format", "rgb24")]


def _ppm_pipe(video: Path, before_input: list[str], filters: list[Filter], after: list[str]) -> process.Completed:
    """ffmpeg with the first video stream's frames piped out as PPM: raw RGB behind a short header.

    PPM rather than bare rawvideo because only ffmpeg knows the output size once it has applied rotation
    metadata, square-pixel correction and the analysis scale. Nothing is written to disk.
    """
    cmd = [
        binary("ffmpeg"), "-hide_banner", "-nostdin", "-nostats", *before_input, *input_args(video),
        "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", chain(filters), *after,
        "-fps_mode", "passthrough", "-c:v", "ppm", "-f", "image2pipe", "-",
    ]
    result = process.run(cmd, what=f"reading frames of {video.name}", timeout_s=process.deadline_for(None))
    if result.returncode != 0:
        transient = process.classify_failure(f"reading frames of {video.name}", result.returncode, result.stderr)
        if transient is not None:
            raise transient
    return result


def decode_frame_at(
    video: str | Path, time_s: float, max_side: int | None = None,
) -> tuple[float, np.ndarray | None, str]:
    """(its time, the frame) of the first frame at or after `time_s`, and ffmpeg's error output.

    The frame is RGB uint8 with square pixels, rotated as the file says, scaled down to fit `max_side`
    (None: the decoded size). The frame is None, with the error output, when nothing was decoded.
    An input seek, so only the GOP before `time_s` is decoded. Timestamps after an input seek start at
    the seek point, so `showinfo`'s pts_time is the frame's offset from `time_s`.
    """
    video = Path(video)
    filters = [Filter("showinfo"), *_frame_filters(max_side)]
    result = _ppm_pipe(video, ["-v", "info", "-ss", f"{time_s:.4f}"], filters, ["-frames:v", "1"])
    stderr = result.stderr
    frames = parse_ppms(result.stdout) if result.returncode == 0 else []
    if not frames:
        return time_s, None, "\n".join(ln for ln in stderr.splitlines() if "showinfo" not in ln)
    offset = next((float(m.group(1)) for ln in stderr.splitlines() if "showinfo" in ln and (m := _PTS_TIME.search(ln))), 0.0)
    return round(time_s + max(0.0, offset), 6), frames[0], ""


def decode_frames_at(
    video: str | Path, times: Sequence[float], max_side: int | None = None,
) -> list[tuple[float, np.ndarray]]:
    """The first frame at or after each of `times`, with its own time, in one decoding pass (cheaper than
    one seeking ffmpeg per frame for short clips). Frames as `decode_frame_at`'s.

    `select` keeps a frame when it is the first to reach a target time; `showinfo` reports each kept
    frame's own timestamp on stderr, in output order. MediaError when ffmpeg fails.
    """
    video = Path(video)
    picks = "+".join(f"gte(t,{t:.4f})*not(gte(prev_t,{t:.4f}))" for t in times)
    filters = [Filter("select", picks), Filter("showinfo"), *_frame_filters(max_side)]
    result = _ppm_pipe(video, ["-v", "info"], filters, [])
    stderr = result.stderr
    if result.returncode != 0:
        raise MediaError(f"could not decode frames of {video.name} ({last_lines(stderr, 1)}): the video may be corrupt")
    found = [float(m.group(1)) for line in stderr.splitlines() if "showinfo" in line and (m := _PTS_TIME.search(line))]
    frames = parse_ppms(result.stdout)
    if len(found) != len(frames):  # not expected; keep the frames with their target times
        log.warning("%s: %d frame times for %d frames", video.name, len(found), len(frames))
        found = [times[min(i, len(times) - 1)] for i in range(len(frames))]
    return list(zip(found, frames, strict=True))


# --- writing ------------------------------------------------------------------------------------

WRITER_DEADLINE_S = 6 * 3600.0


class FrameWriter:
    """Encode RGB frames to H.264 (yuv420p, constant frame rate) through ffmpeg's stdin.

    With `yuv=True` (needs OpenCV) each frame is converted to yuv420p here (BT.601 limited range, as
    ffmpeg's own conversion) and half the bytes cross the pipe: ffmpeg reads and converts frames on one
    thread, so this takes a third of its work per frame off the encoder's critical path.
    """

    def __init__(self, dst: str | Path, *, width: int, height: int, fps: float, crf: int = 18,
                 preset: str = "veryfast", yuv: bool = False) -> None:
        self.dst = Path(dst)
        self.width, self.height = width, height
        self.frames = 0
        self._to_yuv = None
        if yuv:
            if width % 2 or height % 2:
                raise ValueError(f"yuv420p frames need an even size, not {width}x{height}")
            import cv2

            self._to_yuv = lambda frame: cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)
        cmd = [binary("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-v", "error",
               "-f", "rawvideo", "-pix_fmt", "yuv420p" if yuv else "rgb24", "-s", f"{width}x{height}",
               "-r", f"{fps:g}", "-i", "pipe:0",
               "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
               "-r", f"{fps:g}", "-movflags", "+faststart", str(self.dst)]
        # We produce the frames, so the deadline only catches an encoder that hangs: a generous bound.
        self._child = process.Child(cmd, what=f"encoding {self.dst.name}", stdin=True,
                                    timeout_s=WRITER_DEADLINE_S)

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} does not match {self.height}x{self.width}x3 uint8")
        data = np.ascontiguousarray(frame if self._to_yuv is None else self._to_yuv(frame))
        try:
            self._child.stdin.write(memoryview(data).cast("B"))
        except BrokenPipeError:
            done = self._child.wait()  # raises DeadlineError when the watchdog stopped it
            self.dst.unlink(missing_ok=True)
            raise process.classify_failure(f"encoding {self.dst.name}", done.returncode, done.stderr) or MediaError(
                f"encoding {self.dst.name} failed: {last_lines(done.stderr)}") from None
        self.frames += 1

    def close(self) -> Path:
        with contextlib.suppress(BrokenPipeError):
            self._child.stdin.close()
        try:
            done = self._child.wait()
        except BaseException:
            self.dst.unlink(missing_ok=True)
            raise
        if done.returncode != 0:
            self.dst.unlink(missing_ok=True)
            raise process.classify_failure(f"encoding {self.dst.name}", done.returncode, done.stderr) or MediaError(
                f"encoding {self.dst.name} failed: {last_lines(done.stderr)}")
        return self.dst

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._child.kill()
            self.dst.unlink(missing_ok=True)
