"""Media I/O through ffmpeg/ffprobe: probe, normalise, proxy, audio extraction."""

from newsroom.media.ffmpeg import (
    ASR_SAMPLE_RATE_HZ,
    Progress,
    copyable_video,
    extract_audio,
    make_proxy,
    normalise,
    probe,
    run_ffmpeg,
    target_fps,
)

__all__ = [
    "ASR_SAMPLE_RATE_HZ",
    "Progress",
    "extract_audio",
    "copyable_video",
    "make_proxy",
    "normalise",
    "probe",
    "run_ffmpeg",
    "target_fps",
]
