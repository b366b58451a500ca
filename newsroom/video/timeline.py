"""Export an edit for NLEs: OpenTimelineIO (.otio) and CMX3600 EDL with picture and sound.

The OTIO timeline is built with the `opentimelineio` library; the EDL is written here from that timeline:
one event per clip on the video track and on each audio track (channel `V`, `AA` for a stereo source, `A`,
`A2`... for mono), dissolves for the video track's transitions, record timecode from 00:00:00:00, and
`* FROM CLIP NAME:` / `* SOURCE FILE:` comments, so an editor who imports it gets the cut with its sound.
(The cmx_3600 adapter writes the video track only.) `tests/` read every EDL back with `pycmx`, an
independent parser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsroom.errors import ConfigError, ModelNotInstalledError
from newsroom.video.highlight import EditDecision

REEL_CHARS = 8
STILL_SOURCE_START_S = 10.0  # a still's source timecode starts here, so dissolves have handles before it


def _otio():
    try:
        import opentimelineio as otio
    except ImportError as exc:
        raise ModelNotInstalledError("timeline export needs the video extra: pip install 'newsroom[video]'") from exc
    return otio


def to_timeline(decision: EditDecision, media_url: str, *, name: str = "newsroom highlight",
                media_duration_s: float | None = None, has_audio: bool = True):
    """An OTIO Timeline: one video (and a stereo audio) track of clips cut from the source media."""
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
        if kind == otio.schema.TrackKind.Audio:
            track.metadata["cmx_3600"] = {"channel": "AA"}
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


# --------------------------------------------------------------------------- programmes


@dataclass(frozen=True, slots=True)
class TimelineClip:
    """One clip of a programme's track: `frames` long from `record_in` (frames on the programme's clock),
    cut from `media_url` at `source_in`; `dissolve` frames of cross-fade from the clip before it (centred on
    the cut)."""

    name: str
    media_url: str
    reel: str
    record_in: int
    frames: int
    source_in: int = 0
    dissolve: int = 0
    still: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)


def programme_timeline(name: str, fps: float, video: Sequence[TimelineClip], audio: Sequence[Sequence[TimelineClip]] = (),
                       *, audio_channels: Sequence[str] = ()):
    """An OTIO Timeline of a programme: one video track (gaps where nothing is placed, transitions for
    dissolves) and audio tracks (`audio_channels[i]`: the EDL channel of track i, default A, A2...)."""
    otio = _otio()
    RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange
    timeline = otio.schema.Timeline(name=name)

    def track_of(kind: str, track_name: str, clips: Sequence[TimelineClip]):
        track = otio.schema.Track(name=track_name, kind=kind)
        at = 0
        for clip in sorted(clips, key=lambda c: c.record_in):
            if clip.record_in < at:
                raise ConfigError(f"clip {clip.name} starts at frame {clip.record_in}, inside the clip before it")
            if clip.record_in > at:
                track.append(otio.schema.Gap(source_range=TR(RT(0, fps), RT(clip.record_in - at, fps))))
            if clip.dissolve and len(track) and isinstance(track[-1], otio.schema.Clip):
                half = clip.dissolve // 2
                track.append(otio.schema.Transition(
                    name="dissolve", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=RT(half, fps), out_offset=RT(clip.dissolve - half, fps)))
            reference = otio.schema.ExternalReference(target_url=clip.media_url)
            item = otio.schema.Clip(name=clip.name, media_reference=reference,
                                    source_range=TR(RT(clip.source_in, fps), RT(clip.frames, fps)))
            item.metadata["newsroom"] = dict(clip.metadata)
            item.metadata["cmx_3600"] = {"reel": clip.reel}
            track.append(item)
            at = clip.record_in + clip.frames
        return track

    timeline.tracks.append(track_of(otio.schema.TrackKind.Video, "V1", video))
    for i, clips in enumerate(audio):
        track = track_of(otio.schema.TrackKind.Audio, f"A{i + 1}", clips)
        if i < len(audio_channels):
            track.metadata["cmx_3600"] = {"channel": audio_channels[i]}
        timeline.tracks.append(track)
    return timeline


def still_source_in(fps: float) -> int:
    """Where a still's source timecode starts (frames): handles for the dissolves around it."""
    return round(STILL_SOURCE_START_S * fps)


# --------------------------------------------------------------------------- files


def write_otio(timeline, path: str | Path) -> Path:
    _otio().adapters.write_to_file(timeline, str(path), adapter_name="otio_json")
    return Path(path)


@dataclass(frozen=True, slots=True)
class _Line:
    reel: str
    channel: str
    transition: str  # "C", or "D" with `frames`
    source_in: int
    source_out: int
    record_in: int
    record_out: int
    frames: int = 0


def _reel(clip) -> str:
    reel = str(clip.metadata.get("cmx_3600", {}).get("reel") or clip.name or "AX")
    reel = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in reel.upper())
    return reel[:REEL_CHARS] or "AX"


def _events(track, channel: str) -> list[tuple[int, list[_Line], list[str]]]:
    """(record-in frame, lines, comments) per EDL event of one track."""
    otio = _otio()
    events: list[tuple[int, list[_Line], list[str]]] = []
    children = list(track)
    at = 0
    skip_next = False
    last_name = ""
    for i, child in enumerate(children):
        if isinstance(child, otio.schema.Transition):
            continue
        frames = round(child.source_range.duration.value) if child.source_range else 0
        if isinstance(child, otio.schema.Gap):
            at += frames
            continue
        src_in = round(child.source_range.start_time.value)
        before = children[i - 1] if i > 0 and isinstance(children[i - 1], otio.schema.Transition) else None
        after = children[i + 1] if i + 1 < len(children) and isinstance(children[i + 1], otio.schema.Transition) else None
        cut_after = round(after.in_offset.value) if after is not None else 0  # frames of this clip under the dissolve
        rec_in, rec_out = at, at + frames - cut_after
        s_in, s_out = src_in, src_in + frames - cut_after
        url = getattr(child.media_reference, "target_url", "") or ""
        if before is not None and not skip_next:
            raise ConfigError(f"a transition before clip {child.name} has no clip before it")
        if before is not None:
            into = round(before.in_offset.value)
            length = into + round(before.out_offset.value)
            a = events[-1][1][-1]  # the outgoing clip: the last line of the event before
            lines = [_Line(a.reel, channel, "C", a.source_out, a.source_out, a.record_out, a.record_out),
                     _Line(_reel(child), channel, "D", s_in - into, s_out, rec_in - into, rec_out, length)]
            comments = [f"* FROM CLIP NAME:  {last_name}", f"* TO CLIP NAME:  {child.name}",
                        *([f"* SOURCE FILE: {url}"] if url else [])]
            events.append((rec_in - into, lines, comments))
        else:
            lines = [_Line(_reel(child), channel, "C", s_in, s_out, rec_in, rec_out)]
            events.append((rec_in, lines, [f"* FROM CLIP NAME:  {child.name}", *([f"* SOURCE FILE: {url}"] if url else [])]))
        skip_next = after is not None
        last_name = child.name
        at += frames
    return events


def edl_text(timeline, *, title: str | None = None) -> str:
    """The timeline as a CMX3600 EDL: the video track's events and every audio track's, in record order."""
    otio = _otio()
    video = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video and t.enabled]
    audio = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio and t.enabled]
    if len(video) != 1:
        raise ConfigError(f"an EDL holds one video track; this timeline has {len(video)}")
    if len(audio) > 4:
        raise ConfigError(f"an EDL holds at most 4 audio channels; this timeline has {len(audio)} audio tracks")
    fps = video[0].duration().rate
    tracks = [(video[0], "V", 0)] + [
        (t, str(t.metadata.get("cmx_3600", {}).get("channel") or ("A" if i == 0 else f"A{i + 1}")), i + 1)
        for i, t in enumerate(audio)]
    events = [(rec, order, lines, comments) for track, channel, order in tracks
              for rec, lines, comments in _events(track, channel)]
    events.sort(key=lambda e: (e[0], e[1]))

    def tc(frames: int) -> str:
        return non_drop_timecode(frames, fps)

    out = [f"TITLE: {title if title is not None else timeline.name}", "FCM: NON-DROP FRAME", ""]
    for number, (_, _, lines, comments) in enumerate(events, 1):
        for line in lines:
            kind = f"{line.transition:<8}" if line.transition == "C" else f"{line.transition:<4} {line.frames:03d}"
            out.append(f"{number:03d}  {line.reel:<8} {line.channel:<5} {kind} {tc(line.source_in)} "
                       f"{tc(line.source_out)} {tc(line.record_in)} {tc(line.record_out)}")
        out.extend(comments)
    return "\n".join(out) + "\n"


def non_drop_timecode(frames: int, fps: float) -> str:
    """HH:MM:SS:FF counting whole frames at the nominal rate (29.97 -> 30), as the EDL's `FCM: NON-DROP FRAME`
    says. Unlike OTIO's SMPTE formatter it takes any rate (a 10 or 15 fps source, a 12 fps animation)."""
    base = max(1, round(fps))
    frames = int(frames)
    sign, frames = ("-", -frames) if frames < 0 else ("", frames)
    seconds, ff = divmod(frames, base)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def write_edl(timeline, path: str | Path) -> Path:
    """CMX3600 EDL with the video and the audio events (see `edl_text`)."""
    Path(path).write_text(edl_text(timeline), "utf-8")
    return Path(path)


def read_timeline(path: str | Path, *, fps: float | None = None):
    """Read .otio or .edl (an EDL carries no frame rate: pass the edit's `fps`)."""
    kwargs = {"rate": fps} if fps and str(path).lower().endswith(".edl") else {}
    return _otio().adapters.read_from_file(str(path), **kwargs)
