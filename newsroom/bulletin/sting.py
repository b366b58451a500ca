"""The sting between bulletin items: a graphic wipe and a rising tone, generated (no assets, no fonts).

A bright band sweeps across the frame from left to right, the house navy behind it giving way to a lighter
blue; the sound is a sine sweep from `SWEEP_HZ[0]` to `SWEEP_HZ[1]` with a soft attack and release, its
peak at `PEAK_DBFS`, so the master's loudness is set by the anchor's voice, not the sting.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from newsroom.media import run_ffmpeg
from newsroom.media.frames import FrameWriter
from newsroom.media.inputs import input_args

STING_S = 1.2
SWEEP_HZ = (330.0, 1320.0)
PEAK_DBFS = -14.0
SAMPLE_RATE_HZ = 48_000
NAVY = np.array([10, 42, 90], dtype=np.float32)  # the lower thirds' box colour (0x0a2a5a)
BLUE = np.array([30, 90, 168], dtype=np.float32)
BAND = np.array([235, 245, 255], dtype=np.float32)
BAND_FRACTION = 0.12  # of the width


def sting_frames(size: tuple[int, int], fps: float, duration_s: float = STING_S):
    """The wipe's RGB frames: navy, a bright band sweeping across (slightly slanted), blue behind it."""
    width, height = size
    count = max(2, round(duration_s * fps))
    band = BAND_FRACTION * width
    xs = np.arange(width, dtype=np.float32)[None, :] + 0.25 * np.arange(height, dtype=np.float32)[:, None]
    shade = 0.85 + 0.15 * (1 - np.arange(height, dtype=np.float32) / height)[:, None, None]
    for n in range(count):
        u = n / (count - 1)
        u = u * u * (3 - 2 * u)
        edge = -band + u * (width + 0.25 * height + 2 * band)
        behind = np.clip((edge - band - xs) / band, 0, 1)[..., None]  # 1 where the band has passed
        inside = np.clip(1 - np.abs(xs - edge) / band, 0, 1)[..., None] ** 2
        frame = NAVY * (1 - behind) + BLUE * behind
        frame = frame * (1 - inside) + BAND * inside
        yield np.clip(frame * shade, 0, 255).astype(np.uint8)


def sweep(duration_s: float = STING_S, rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """The rising tone: a logarithmic sine sweep with a raised-cosine attack and release."""
    t = np.arange(round(duration_s * rate_hz), dtype=np.float64) / rate_hz
    f0, f1 = SWEEP_HZ
    k = np.log(f1 / f0) / duration_s
    phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k
    tone = np.sin(phase) + 0.3 * np.sin(2 * phase)
    envelope = np.minimum(1.0, np.minimum(t / 0.08, (duration_s - t) / 0.35))
    envelope = 0.5 - 0.5 * np.cos(np.pi * np.clip(envelope, 0, 1))
    signal = tone * envelope
    return (signal / np.max(np.abs(signal)) * 10 ** (PEAK_DBFS / 20)).astype(np.float32)


def render_sting(out: str | Path, *, size: tuple[int, int] = (1280, 720), fps: float = 25.0,
                 duration_s: float = STING_S) -> Path:
    """sting.mp4: the wipe (H.264) with the tone sweep (AAC 48 kHz)."""
    from newsroom.tts import write_wav

    out = Path(out)
    silent = out.with_name(f".{out.stem}.video.mp4")
    wav = out.with_name(f".{out.stem}.wav")
    try:
        with FrameWriter(silent, width=size[0], height=size[1], fps=fps, crf=18) as writer:
            for frame in sting_frames(size, fps, duration_s):
                writer.write(frame)
        write_wav(wav, sweep(duration_s), SAMPLE_RATE_HZ)
        run_ffmpeg([*input_args(silent), *input_args(wav), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
                    "-c:a", "aac", "-b:a", "160k", "-ar", str(SAMPLE_RATE_HZ), "-shortest", "-movflags", "+faststart",
                    "-f", "mp4", str(out)], what="muxing the sting", output=out)
    finally:
        silent.unlink(missing_ok=True)
        wav.unlink(missing_ok=True)
    return out
