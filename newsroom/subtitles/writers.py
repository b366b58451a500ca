r"""Subtitle files as text: SRT, WebVTT and EBU-TT-D (TTML), chosen by name from `WRITERS`.

Times are written to the millisecond (SRT "HH:MM:SS,mmm", WebVTT and TTML "HH:MM:SS.mmm"), cue
lines one per line (SRT, WebVTT) or separated by <br/> (TTML). The TTML document follows the EBU-TT-D
profile (EBU Tech 3380) that broadcasters and HbbTV/DASH players accept: media time base, the
conformance URN in ebuttm:documentMetadata, one bottom region and one white-on-black style.

Cue text is literal: nothing in a transcript is ever read as markup by a player or by libass when the
file is burned in. Every line is first one clean line (`typeset.clean_line`: no control characters, no
line breaks inside it), then, per format:

    format   markup in the text                        how it stays literal
    SRT      <i>, <font color=...>, {\an8}, {y:i}      HTML-like tags and ASS/MicroDVD override blocks are
                                                       removed; SRT has no escapes, so a stray < > { } is
                                                       written as a look-alike (‹ › ｛ ｝) and "-->" cannot occur
    WebVTT   <b>, <c.red>, &amp;, -->                  & < > written as &amp; &lt; &gt; (so no "-->" either)
    TTML     <span>, &                                 XML escaping
    SRT and  \N \n \h (libass: line break, space)      a WORD JOINER (U+2060, invisible) after the backslash:
    WebVTT                                             burned in, libass draws the backslash and the letter

A line left empty (it held only markup) is dropped, and a cue left without lines is skipped.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

from newsroom.errors import ConfigError
from newsroom.subtitles.cues import Cue, SubtitleError
from newsroom.typeset import clean_line

log = logging.getLogger("newsroom.subtitles")

Writer = Callable[[Sequence[Cue], str], str]

TTML_NS = "http://www.w3.org/ns/ttml"
TTS_NS = "http://www.w3.org/ns/ttml#styling"
TTP_NS = "http://www.w3.org/ns/ttml#parameter"
EBUTTM_NS = "urn:ebu:tt:metadata"
EBUTTS_NS = "urn:ebu:tt:style"
XML_NS = "http://www.w3.org/XML/1998/namespace"
EBU_TT_D_URN = "urn:ebu:tt:distribution:2018-04"

for _prefix, _uri in (("tt", TTML_NS), ("tts", TTS_NS), ("ttp", TTP_NS), ("ebuttm", EBUTTM_NS), ("ebutts", EBUTTS_NS)):
    ET.register_namespace(_prefix, _uri)


def _clock(seconds: float, decimal: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{ms:03d}"


WORD_JOINER = "\u2060"
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")  # <i>, </i>, <font color="red">, <c.yellow>, <v Roger>
_OVERRIDE_RE = re.compile(r"\{\\[^{}]*\}|\{[CcFfoPSsYy]:[^{}]*\}")  # ASS {\an8}{\b1}, MicroDVD {y:i}
_LIBASS_ESCAPE_RE = re.compile(r"\\(?=[Nnh])")  # \N \n \h: libass line break, soft break, hard space
_SRT_LOOKALIKES = str.maketrans({"<": "\u2039", ">": "\u203a", "{": "\uff5b", "}": "\uff5d"})


def _checked_lines(cue: Cue, literal: Callable[[str], str]) -> tuple[str, ...]:
    """The cue's lines, each one clean line made literal for the format; empty ones left out."""
    if not cue.lines or any(not line.strip() for line in cue.lines) or any("\n" in line for line in cue.lines):
        raise SubtitleError(
            f"cue {cue.index} has an empty line or a line break inside a line ({cue.lines!r}): "
            "subtitle files cannot carry it; build cues with build_cues or fix the cue"
        )
    if cue.end_s <= cue.start_s:
        raise SubtitleError(f"cue {cue.index} ends ({cue.end_s:.3f}s) before it starts ({cue.start_s:.3f}s)")
    lines = tuple(text for text in (literal(clean_line(line)) for line in cue.lines) if text)
    if not lines:
        log.warning("cue %d (%.3f s) held only markup or control characters %r: left out", cue.index, cue.start_s,
                    cue.lines)
    return lines


def _no_libass_escapes(text: str) -> str:
    return _LIBASS_ESCAPE_RE.sub("\\\\" + WORD_JOINER, text)


def srt_text(line: str) -> str:
    """One line of cue text for SubRip, shown as written by every player and by libass: markup removed,
    stray markup characters replaced by look-alikes, libass escapes broken by a word joiner."""
    line = clean_line(_TAG_RE.sub("", _OVERRIDE_RE.sub("", line)))
    return _no_libass_escapes(line.translate(_SRT_LOOKALIKES))


def vtt_text(line: str) -> str:
    """One line of cue text for WebVTT: & < > as character references (so "-->" cannot occur either)."""
    return _no_libass_escapes(line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def write_srt(cues: Sequence[Cue], language: str = "en") -> str:
    """SubRip: index, "start --> end", the lines, a blank line."""
    blocks = []
    for cue in cues:
        if lines := _checked_lines(cue, srt_text):
            blocks.append(f"{cue.index}\n{_clock(cue.start_s, ',')} --> {_clock(cue.end_s, ',')}\n" + "\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def write_vtt(cues: Sequence[Cue], language: str = "en") -> str:
    """WebVTT: the header, then each cue with its index as identifier; &, < and > escaped."""
    blocks = ["WEBVTT"]
    for cue in cues:
        if lines := _checked_lines(cue, vtt_text):
            blocks.append(f"{cue.index}\n{_clock(cue.start_s, '.')} --> {_clock(cue.end_s, '.')}\n" + "\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def write_ttml(cues: Sequence[Cue], language: str = "en") -> str:
    """EBU-TT-D (TTML): one <p> per cue with begin/end as HH:MM:SS.mmm and <br/> between lines."""
    tt = ET.Element(_q(TTML_NS, "tt"), {
        _q(XML_NS, "lang"): language,
        _q(TTP_NS, "timeBase"): "media",
        _q(TTP_NS, "cellResolution"): "50 30",
    })
    head = ET.SubElement(tt, _q(TTML_NS, "head"))
    metadata = ET.SubElement(head, _q(TTML_NS, "metadata"))
    document = ET.SubElement(metadata, _q(EBUTTM_NS, "documentMetadata"))
    ET.SubElement(document, _q(EBUTTM_NS, "conformsToStandard")).text = EBU_TT_D_URN
    styling = ET.SubElement(head, _q(TTML_NS, "styling"))
    ET.SubElement(styling, _q(TTML_NS, "style"), {
        _q(XML_NS, "id"): "paragraph",
        _q(TTS_NS, "textAlign"): "center",
        _q(TTS_NS, "fontFamily"): "proportionalSansSerif",
        _q(TTS_NS, "fontSize"): "100%",
        _q(TTS_NS, "lineHeight"): "125%",
        _q(EBUTTS_NS, "linePadding"): "0.5c",
    })
    ET.SubElement(styling, _q(TTML_NS, "style"), {
        _q(XML_NS, "id"): "text",
        _q(TTS_NS, "color"): "#FFFFFF",
        _q(TTS_NS, "backgroundColor"): "#000000C2",
    })
    layout = ET.SubElement(head, _q(TTML_NS, "layout"))
    ET.SubElement(layout, _q(TTML_NS, "region"), {
        _q(XML_NS, "id"): "bottom",
        _q(TTS_NS, "origin"): "10% 10%",
        _q(TTS_NS, "extent"): "80% 80%",
        _q(TTS_NS, "displayAlign"): "after",
        _q(TTS_NS, "writingMode"): "lrtb",
    })
    body = ET.SubElement(tt, _q(TTML_NS, "body"))
    div = ET.SubElement(body, _q(TTML_NS, "div"))
    paragraphs = []
    for cue in cues:
        lines = _checked_lines(cue, str)  # ElementTree escapes; TTML is never burned in
        if not lines:
            continue
        p = ET.SubElement(div, _q(TTML_NS, "p"), {
            _q(XML_NS, "id"): f"sub{cue.index}",
            "begin": _clock(cue.start_s, "."),
            "end": _clock(cue.end_s, "."),
            "region": "bottom",
            "style": "paragraph",
        })
        for n, line in enumerate(lines):
            if n:
                ET.SubElement(p, _q(TTML_NS, "br"))
            ET.SubElement(p, _q(TTML_NS, "span"), {"style": "text"}).text = line
        paragraphs.append(p)
    ET.indent(tt)
    for p in paragraphs:  # no layout whitespace inside a paragraph: it would be rendered
        p.text = None
        for child in p:
            child.tail = None
    xml = ET.tostring(tt, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n"


WRITERS: dict[str, Writer] = {"srt": write_srt, "vtt": write_vtt, "ttml": write_ttml}


def write_subtitles(cues: Sequence[Cue], fmt: str, language: str) -> str:
    """The cues as a subtitle file in `fmt` ("srt", "vtt" or "ttml"); ConfigError for other formats."""
    writer = WRITERS.get(fmt.lower().lstrip("."))
    if writer is None:
        raise ConfigError(f"unknown subtitle format {fmt!r}: choose one of {', '.join(WRITERS)}")
    return writer(cues, language)
