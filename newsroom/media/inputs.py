"""How every media file is handed to ffmpeg/ffprobe: only real container formats, only local files.

ffmpeg chooses a demuxer by content, whatever the file's extension, and some demuxers are programs
rather than containers: an HLS or ffconcat playlist renamed `.mp4` makes ffmpeg open *other* files on
the worker's disk (or itself, recursively), an image2 pattern reads a sequence. So every input is passed
with an explicit demuxer allow-list (`-format_whitelist`) and protocol allow-list (`file` only), and as a
`file:` URL, so a name such as `concat:a|b` or `clip%d.mp4` is never interpreted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# ffmpeg demuxer names for real audio/video containers (a demuxer matches when any of its names is here).
ALLOWED_DEMUXERS: tuple[str, ...] = (
    "mov", "mp4", "m4a", "3gp", "3g2", "mj2",  # QuickTime / MP4 family
    "matroska", "webm",
    "mpegts", "mpeg",  # MPEG transport stream, MPEG program stream (VOB, .mpg)
    "avi", "mxf", "asf", "flv", "dv", "gxf",
    "wav", "w64", "aiff", "caf", "mp3", "aac", "flac", "ogg",
)
DEMUXER_WHITELIST = ",".join(ALLOWED_DEMUXERS)
PROTOCOL_WHITELIST = "file"


def file_url(path: str | Path) -> str:
    """An absolute `file:` URL ffmpeg takes literally (no protocol prefixes, no % patterns)."""
    return "file:" + str(Path(path).expanduser().resolve())


def input_args(path: str | Path) -> list[str]:
    """`-i` for a media file, restricted to the allowed demuxers and to the local file protocol."""
    return ["-format_whitelist", DEMUXER_WHITELIST, "-protocol_whitelist", PROTOCOL_WHITELIST, "-i", file_url(path)]


def own_input_args(path: str | Path, fmt: str) -> list[str]:
    """`-i` for a file newsroom wrote itself in format `fmt` (e.g. our SRT): the demuxer is named, not guessed."""
    return ["-f", fmt, "-i", file_url(path)]


def concat_listing(paths: Sequence[str | Path]) -> str:
    """A concat-demuxer listing of `paths` (read with `-f concat -safe 0`), each path quoted so that any name,
    quotes and spaces included, is read as written."""
    lines = []
    for path in paths:
        text = Path(path).resolve().as_posix()
        if "\n" in text or "\r" in text:
            raise ValueError(f"{text!r}: a concat listing cannot hold a path with a line break")
        lines.append("file '" + text.replace("'", "'\\''") + "'\n")
    return "".join(lines)


def check_inputs(args: list[str]) -> None:
    """A programming check run on every ffmpeg command: each `-i` is a gated file, a pipe, or has an explicit
    `-f` for a format newsroom writes itself (lavfi, concat lists, raw frames, our subtitle files)."""
    opts_since_input: list[str] = []
    for i, arg in enumerate(args):
        if arg != "-i":
            opts_since_input.append(arg)
            continue
        value = args[i + 1] if i + 1 < len(args) else ""
        gated = "-format_whitelist" in opts_since_input and value.startswith("file:")
        explicit = "-f" in opts_since_input
        if not (gated or explicit or value.startswith("pipe:") or value == "-"):
            raise ValueError(f"ffmpeg input {value!r} is not gated: pass it with newsroom.media.inputs.input_args()")
        opts_since_input = []
