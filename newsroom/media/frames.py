"""Raw RGB frames in and out of ffmpeg through pipes (no temporary image files)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from newsroom.errors import MediaError
from newsroom.media.ffmpeg import _binary, _last_lines


def read_frames(
    path: str | Path, *, width: int, height: int, fps: float, start_frame: int = 0, count: int | None = None,
) -> Iterator[np.ndarray]:
    """Decode frames [start_frame, start_frame + count) of a constant-frame-rate video as RGB uint8 arrays.

    Input seeking with -ss is frame-accurate when decoding; seeking a quarter frame early makes the first
    frame whose timestamp is >= the target exactly `start_frame`.
    """
    cmd = [_binary("ffmpeg"), "-hide_banner", "-nostdin", "-v", "error"]
    if start_frame > 0:
        cmd += ["-ss", f"{(start_frame - 0.25) / fps:.6f}"]
    cmd += ["-i", str(path), "-map", "0:v:0", "-an", "-sn"]
    if count is not None:
        cmd += ["-frames:v", str(count)]
    cmd += ["-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    frame_bytes = width * height * 3
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            yield np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3)
    finally:
        proc.stdout.close()
        stderr = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if proc.wait() not in (0, -13, 255) and stderr:  # -13/255: we closed the pipe early on purpose
            raise MediaError(f"decoding frames of {Path(path).name} failed: {_last_lines(stderr)}")


def read_frame(path: str | Path, time_s: float, *, width: int, height: int) -> np.ndarray:
    """One RGB frame at `time_s` (nearest frame at or after it)."""
    cmd = [_binary("ffmpeg"), "-hide_banner", "-nostdin", "-v", "error", "-ss", f"{max(0.0, time_s):.6f}",
           "-i", str(path), "-map", "0:v:0", "-frames:v", "1", "-vf", f"scale={width}:{height}",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    result = subprocess.run(cmd, capture_output=True, check=False)
    if result.returncode != 0 or len(result.stdout) < width * height * 3:
        raise MediaError(f"no frame at {time_s:.2f}s in {Path(path).name}: {_last_lines(result.stderr.decode(errors='replace'))}")
    return np.frombuffer(result.stdout[: width * height * 3], dtype=np.uint8).reshape(height, width, 3)


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
        cmd = [_binary("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-v", "error",
               "-f", "rawvideo", "-pix_fmt", "yuv420p" if yuv else "rgb24", "-s", f"{width}x{height}",
               "-r", f"{fps:g}", "-i", "pipe:0",
               "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
               "-r", f"{fps:g}", "-movflags", "+faststart", str(self.dst)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} does not match {self.height}x{self.width}x3 uint8")
        assert self._proc.stdin is not None
        data = np.ascontiguousarray(frame if self._to_yuv is None else self._to_yuv(frame))
        self._proc.stdin.write(memoryview(data).cast("B"))
        self.frames += 1

    def close(self) -> Path:
        assert self._proc.stdin is not None and self._proc.stderr is not None
        self._proc.stdin.close()
        stderr = self._proc.stderr.read().decode(errors="replace")
        if self._proc.wait() != 0:
            self.dst.unlink(missing_ok=True)
            raise MediaError(f"encoding {self.dst.name} failed: {_last_lines(stderr)}")
        return self.dst

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._proc.kill()
            self._proc.wait()
            self.dst.unlink(missing_ok=True)
