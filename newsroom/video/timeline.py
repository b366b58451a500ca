"""Export an edit decision for NLEs: OpenTimelineIO (.otio) and CMX3600 EDL, through the opentimelineio library."""

from __future__ import annotations

from pathlib import Path

from newsroom.errors import ModelNotInstalledError
from newsroom.video.highlight import EditDecision


def _otio():
    try:
        import opentimelineio as otio
    except ImportError as exc:
        raise ModelNotInstalledError("timeline export needs the video extra: pip install 'newsroom[video]'") from exc
    return otio


def to_timeline(decision: EditDecision, media_url: str, *, name: str = "newsroom highlight",
                media_duration_s: float | None = None, has_audio: bool = True):
    """An OTIO Timeline: one video (and audio) track of clips cut from the source media."""
    otio = _otio()
    fps = decision.fps
    available = None
    if media_duration_s:
        available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps),
                                             otio.opentime.RationalTime(round(media_duration_s * fps), fps))
    timeline = otio.schema.Timeline(name=name)
    kinds = [otio.schema.TrackKind.Video] + ([otio.schema.TrackKind.Audio] if has_audio else [])
    for kind in kinds:
        track = otio.schema.Track(name=f"{kind[0]}1", kind=kind)
        for i, r in enumerate(decision.ranges):
            reference = otio.schema.ExternalReference(target_url=media_url, available_range=available)
            source_range = otio.opentime.TimeRange(otio.opentime.RationalTime(r.start_frame, fps),
                                                   otio.opentime.RationalTime(r.end_frame - r.start_frame, fps))
            clip = otio.schema.Clip(name=f"shot{i + 1:03d}", media_reference=reference, source_range=source_range)
            clip.metadata["newsroom"] = {"sentence_ids": list(r.sentence_ids)}
            clip.metadata["cmx_3600"] = {"reel": "SOURCE"}
            track.append(clip)
        timeline.tracks.append(track)
    return timeline


def write_otio(timeline, path: str | Path) -> Path:
    _otio().adapters.write_to_file(timeline, str(path), adapter_name="otio_json")
    return Path(path)


def write_edl(timeline, path: str | Path) -> Path:
    """CMX3600 EDL (video track; the adapter writes one event per clip with source/record timecodes)."""
    otio = _otio()
    video_only = otio.schema.Timeline(name=timeline.name)
    video_only.tracks.append(timeline.video_tracks()[0].deepcopy())
    Path(path).write_text(otio.adapters.write_to_string(video_only, adapter_name="cmx_3600"), "utf-8")
    return Path(path)


def read_timeline(path: str | Path, *, fps: float | None = None):
    """Read .otio or .edl (an EDL carries no frame rate: pass the edit's `fps`)."""
    kwargs = {"rate": fps} if fps and str(path).lower().endswith(".edl") else {}
    return _otio().adapters.read_from_file(str(path), **kwargs)
