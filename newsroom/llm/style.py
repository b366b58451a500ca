"""The desk's style, enforced in code after the model answers (the prompt asks for it too, but a small model
does not always listen). Every rule comes from the language profile's `draft` rules (`newsroom.lang`):

- `fix_headline`: dateline formulas ("本台消息", "据报道", "记者……报道", "BREAKING:") removed, no closing full
  stop, Title Case put into sentence case (words the transcript capitalises keep their capitals), and a
  headline longer than the profile's limit cut back at a clause boundary; one that still does not fit is
  reported (`HeadlineFix.problem`) for the repair call (`newsroom.llm.grounding`);
- `clean_script`: the anchor script made spoken prose: no speaker labels ("主持人：", "Anchor:"), no markdown,
  no stage directions ("[music]", "(pause)"), one paragraph;
- `trim_to`: a body longer than its target cut at the last sentence that fits;
- `unattributed_quotes`: quotations in a spoken script that no attribution word introduces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsroom.lang import LanguageProfile
from newsroom.llm.quotes import compact

_QUOTE_MARKS = "\"“”„«»「」『』"
_CLOSERS = "\"'”’」』)）»"


def size(text: str, profile: LanguageProfile) -> int:
    """Length in the profile's unit: words, or characters (punctuation and spaces left out)."""
    return len(text.split()) if profile.spaced else len(compact(text))


def sentences(text: str, profile: LanguageProfile) -> list[str]:
    """`text` cut after each sentence mark (closing quotes stay with their sentence; in languages written
    with spaces a mark ends a sentence only before a space, and not after an abbreviation such as "Dr.")."""
    text = text.strip()
    marks, abbreviations = profile.sentence_marks, profile.voice.abbreviations
    out: list[str] = []
    start = i = 0
    while i < len(text):
        if text[i] not in marks:
            i += 1
            continue
        j = i + 1
        while j < len(text) and (text[j] in marks or text[j] in _CLOSERS):
            j += 1
        piece = text[start:j]
        words = piece.split()
        last = words[-1].rstrip(".").casefold() if words else ""
        ends = not profile.spaced or j == len(text) or text[j].isspace()
        if ends and not (profile.spaced and text[i] == "." and (last in abbreviations or len(last) == 1)):
            out.append(piece.strip())
            start = j
        i = j
    if text[start:].strip():
        out.append(text[start:].strip())
    return [p for p in out if compact(p)]


def join(parts: list[str], profile: LanguageProfile) -> str:
    return profile.joiner.join(p.strip() for p in parts if p.strip())


# --------------------------------------------------------------------------- headline


@dataclass(frozen=True, slots=True)
class HeadlineFix:
    text: str
    changes: tuple[str, ...]  # what was done, for the editor's checks
    problem: str | None  # what is still wrong (for the repair call), None when the headline fits


def _sentence_case(headline: str, source: str) -> str:
    words = headline.split()
    capitalised = [w for w in words if w[:1].isupper()]
    if len(words) <= 3 or len(capitalised) < 0.6 * len(words):
        return headline
    proper = {w.strip(".,:;!?\"'’“”()").casefold() for sentence in re.split(r"(?<=[.!?])\s+", source)
              for w in sentence.split()[1:] if w[:1].isupper()}
    out = [words[0]]
    for word in words[1:]:
        core = word.strip(".,:;!?\"'’“”()")
        keep = not core[:1].isupper() or core.isupper() and len(core) > 1 or core.casefold() in proper
        out.append(word if keep else word[:1].lower() + word[1:])
    return " ".join(out)


def fix_headline(headline: str, profile: LanguageProfile, source: str) -> HeadlineFix:
    """The headline in the desk's style (see the module docstring)."""
    rules = profile.draft
    changes: list[str] = []
    text = re.sub(r"[*#_`]+", "", headline).strip().strip(_QUOTE_MARKS).strip()
    if rules.dateline:
        cut = re.sub(rules.dateline, " ", text, flags=re.IGNORECASE)
        cut = re.sub(r"^[\s，,：:、]+", "", cut).strip()
        if cut != text:
            changes.append(f"dateline formula removed from the headline ({headline.strip()!r})")
            text = cut
    stripped = text.rstrip("。.．!！ ")
    if stripped != text:
        text = stripped
    if profile.spaced:
        cased = _sentence_case(text, source)
        if cased != text:
            text = cased
    text = re.sub(r"\s+", " ", text).strip() if profile.spaced else re.sub(r"\s+", "", text)
    low, high = rules.headline
    if size(text, profile) > high:
        cut = _cut_at_clause(text, profile, low, high)
        if cut is not None:
            changes.append(f"headline cut to {size(cut, profile)} {profile.unit} (limit {high}): {text!r}")
            text = cut
    n = size(text, profile)
    problem = None
    if not low <= n <= high:
        problem = f"the headline must have {low} to {high} {profile.unit}, it has {n}"
    return HeadlineFix(text, tuple(changes), problem)


def _cut_at_clause(text: str, profile: LanguageProfile, low: int, high: int) -> str | None:
    """The longest start of `text` that ends at a clause or sentence mark and has low..high units."""
    marks = re.escape(profile.clause_marks + profile.sentence_marks)
    best = None
    for match in re.finditer(rf"[{marks}]|\s[-–—|]\s", text):
        head = text[: match.start()].strip()
        if low <= size(head, profile) <= high:
            best = head
    return best


# --------------------------------------------------------------------------- spoken script

_MARKDOWN = [
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE), ""),  # headings
    (re.compile(r"^\s*(?:[-*•+]|\d{1,2}[.)])\s+", re.MULTILINE), ""),  # list items
    (re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$", re.MULTILINE), ""),  # rules
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # bold
    (re.compile(r"`([^`]*)`"), r"\1"),  # code
    (re.compile(r"\[([^\]]+)\]\((?:https?://)?[^)]+\)"), r"\1"),  # links
]
_BRACKETS = re.compile(r"\[[^\]]{0,60}\]|【[^】]{0,30}】|〔[^〕]{0,30}〕|\{[^}]{0,60}\}")
_PARENS = re.compile(r"[(（]([^()（）]{0,40})[)）]")
_STARRED = re.compile(r"(?<![\w*])\*([^*\n]{1,40})\*(?![\w*])")
_STAGE_WORDS = re.compile(
    r"^(?:pause|pauses|beat|music|musical|sting|jingle|laughs?|laughter|applause|sighs?|silence|sfx|sound|"
    r"nat sound|sot|vo|b-roll|cut to|cue|graphic|on screen|video|clip|roll|intro|outro|theme|"
    r"停顿|停|音乐|片头|片尾|笑|笑声|掌声|画面|视频|镜头|字幕|背景音|音效|切|转场|"
    r"間|音楽|拍手|笑い|映像)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class CleanScript:
    text: str
    removed: tuple[str, ...]  # labels, stage directions and markup taken out (for the editor's checks)


def speaker_label_re(profile: LanguageProfile) -> re.Pattern[str]:
    """A speaker label at the start of a line: one of the profile's role words (any case, optionally followed
    by a name) and a colon; in languages written with spaces also a bare name ("Maria Lopez:")."""
    roles = "|".join(re.escape(r) for r in sorted(profile.draft.speaker_labels, key=len, reverse=True))
    if profile.spaced:
        name = r"(?:\s+[^\s:：,，.。!?！？]{1,20}){0,3}"
        patterns = [rf"(?i:{roles})\b{name}"] if roles else []
        patterns.append(r"[A-Z][\w'’.-]*(?:\s[A-Z][\w'’.-]*){0,3}")
    else:
        patterns = [rf"(?:{roles})\s?[^\s:：，。！？说了获到示称问指]{{0,4}}"] if roles else []
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile(rf"^[\s>*_\-–—]*(?:{'|'.join(patterns)})[*_]*\s*[:：]\s*")


def clean_script(script: str, profile: LanguageProfile) -> CleanScript:
    """The anchor script as spoken prose (see the module docstring)."""
    removed: list[str] = []
    text = script.replace("\r\n", "\n")
    for pattern, repl in _MARKDOWN:
        text, n = pattern.subn(repl, text)
        if n:
            removed.append("markdown")
    for bracket in _BRACKETS.findall(text):
        removed.append(bracket)
    text = _BRACKETS.sub(" ", text)

    def stage(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        if _STAGE_WORDS.match(inner):
            removed.append(match.group(0))
            return " "
        return match.group(0) if match.group(0).startswith(("(", "（")) else inner

    text = _PARENS.sub(stage, text)
    text = _STARRED.sub(stage, text)
    text = text.replace("*", "").replace("#", "")
    label = speaker_label_re(profile)
    lines = []
    for line in text.split("\n"):
        # A label may open a line or, once lines are joined by the model, a sentence.
        parts = sentences(line, profile) or [line]
        kept = []
        for part in parts:
            found = label.match(part)
            if found and not _is_attribution(found.group(0), profile):
                removed.append(found.group(0).strip())
                name = found.group(0).strip(" \t>*_-–—:：")
                if _is_role(name, profile) or not profile.draft.attribution:
                    part = part[found.end():]
                else:  # "Maria Lopez: We want..." -> "Maria Lopez said: We want..."
                    part = f"{name} {profile.draft.attribution[0]}: {part[found.end():]}"
            kept.append(part)
        lines.append(join(kept, profile))
    text = join(lines, profile)
    text = re.sub(r"\s+", " ", text).strip()
    if not profile.spaced:
        text = re.sub(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])", "", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return CleanScript(text, tuple(dict.fromkeys(removed)))


def _is_role(name: str, profile: LanguageProfile) -> bool:
    folded = name.casefold()
    return any(folded.startswith(r.casefold()) for r in profile.draft.speaker_labels)


def _is_attribution(label: str, profile: LanguageProfile) -> bool:
    """"He said:" opens a quote, it does not label a speaker."""
    words = label.casefold()
    return any(a.casefold() in words for a in profile.draft.attribution)


def unattributed_quotes(text: str, profile: LanguageProfile) -> list[str]:
    """Quotations in `text` whose sentence has no attribution word ("said", "表示")."""
    found = []
    for sentence in sentences(text, profile):
        quoted = re.findall(r"[“「『\"]([^”」』\"]{2,})[”」』\"]", sentence)
        if not quoted:
            continue
        folded = sentence.casefold()
        if not any(a.casefold() in folded for a in profile.draft.attribution):
            found.extend(quoted)
    return found


def trim_to(text: str, high: int, profile: LanguageProfile) -> str:
    """`text` cut after the last whole sentence within `high` units (unchanged when it fits, or when even
    its first sentence is longer)."""
    if size(text, profile) <= high:
        return text
    kept: list[str] = []
    for sentence in sentences(text, profile):
        if size(join([*kept, sentence], profile), profile) > high:
            break
        kept.append(sentence)
    return join(kept, profile) if kept else text
