"""Script text -> what the anchor says: normalisation, tokens and bounded chunks.

A voice reads words, not symbols: "12" must become "twelve", "3.5%" "three point five percent",
"2026" "twenty twenty-six", a URL its spoken domain, and emoji nothing. Normalisation works token by
token and keeps each written token next to its spoken form (`Token`), so word timings can carry what the
script says ("12") while the voice says "twelve".

Chunks are what one engine call receives: a sentence, or a clause of a sentence that is too long to
read in one breath (the profile's `voice.max_chunk` words, or characters for languages written without
spaces). Scripts longer than `MAX_SCRIPT_CHARS` are refused: an anchor intro is a minute or two, not a
chapter. Each language's profile (`newsroom.lang`) names its normaliser ("english": word by word;
"cjk": segmented words, numerals read by a named reader), its sentence and clause marks and pauses.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from newsroom import lang
from newsroom.errors import ConfigError, NewsroomError
from newsroom.lang import LanguageProfile, zh_numbers
from newsroom.lang.en_numbers import SCALE_WORDS, clock, money, number, ordinal

log = logging.getLogger("newsroom.tts")

MAX_SCRIPT_CHARS = 5_000
CLAUSE_PAUSE_S = 0.10


class ScriptLabelError(NewsroomError):
    """A script line opens with a speaker label ("主持人：", "Anchor:") that a voice would read aloud."""


@dataclass(frozen=True, slots=True)
class Token:
    """One word of the script as written, and as it is to be spoken ("" when it is not spoken)."""

    written: str
    spoken: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """What one engine call reads: a sentence (or a clause of a long one) and the pause after it."""

    tokens: tuple[Token, ...]
    text: str
    pause_after_s: float


# --------------------------------------------------------------------------- symbols, URLs, emoji

# ASCII only, so a URL inside Chinese text stops where the Chinese starts.
_URL_RE = re.compile(
    r"(?:https?://|www\.)[!-~]+"
    r"|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|org|net|gov|edu|io|co|uk|cn|info|news|tv|ai)(?:/[!-~]*)?",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_KEEP_PUNCT = set(".,;:!?'\"-()’‘“”。，、；：！？「」『』（）《》—–…")


def spoken_domain(url: str, dot: str = " dot ") -> str:
    """"https://www.example.com/a?b" -> "example dot com": what a presenter reads out."""
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    host = re.split(r"[/?#:]", host, maxsplit=1)[0].rstrip(".")
    return dot.join(part for part in host.split(".") if part)


def strip_symbols(text: str) -> str:
    """Emoji, pictographs, markup and other symbols out; letters, digits, marks and punctuation kept."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LNM" or ch in _KEEP_PUNCT or ch.isspace():
            out.append(ch)
        elif cat == "Pd":
            out.append("-")
        else:
            out.append(" ")
    return "".join(out)


# --------------------------------------------------------------------------- English tokens

_LEAD_RE = re.compile(r"^[\"'“‘(\[]+")
_TRAIL_RE = re.compile(r"[\"'”’)\].,;:!?…]+$")
_CURRENCY_RE = re.compile(r"([$£€¥])(\d[\d,]*(?:\.\d+)?)")
_PERCENT_RE = re.compile(r"([-−]?\d[\d,]*(?:\.\d+)?)%")
_ORDINAL_RE = re.compile(r"(\d+)(st|nd|rd|th)", re.IGNORECASE)
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
_RANGE_RE = re.compile(r"(\d[\d,]*)[-–](\d[\d,]*)")
_NUMBER_RE = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?")
_DIGITS_RE = re.compile(r"\d+(?:\.\d+)?")
_DEGREES_RE = re.compile(r"([-−]?\d+(?:\.\d+)?)°([CF])?")
_LETTER_DIGIT_HYPHEN_RE = re.compile(r"(?<=[A-Za-z])[-–](?=\d)|(?<=\d)[-–](?=[A-Za-z])")
_SYMBOL_WORDS = {"&": " and ", "+": " plus ", "@": " at ", "%": " percent ", "/": " ", "=": " equals ", "#": " number "}


def _speak_core_en(core: str, next_word: str) -> tuple[str, bool]:
    """Spoken form of one token without its surrounding punctuation; True when it ate `next_word`."""
    if _EMAIL_RE.fullmatch(core):
        user, _, host = core.partition("@")
        return f"{user.replace('.', ' dot ')} at {spoken_domain(host)}", False
    if _URL_RE.fullmatch(core):
        return spoken_domain(core), False
    if m := _CURRENCY_RE.fullmatch(core):
        scale = next_word.lower().strip(".,;:!?") if next_word.lower().strip(".,;:!?") in SCALE_WORDS else None
        return money(m.group(2), m.group(1), scale), scale is not None
    if m := _PERCENT_RE.fullmatch(core):
        return f"{number(m.group(1), as_year=False)} percent", False
    if m := _ORDINAL_RE.fullmatch(core):
        return ordinal(int(m.group(1))), False
    if (m := _TIME_RE.fullmatch(core)) and int(m.group(1)) < 24 and int(m.group(2)) < 60:
        return clock(m.group(1), m.group(2)), False
    if m := _RANGE_RE.fullmatch(core):
        return f"{number(m.group(1))} to {number(m.group(2))}", False
    if _NUMBER_RE.fullmatch(core):
        return number(core), False
    if m := _DEGREES_RE.fullmatch(core):
        scale = {"C": " Celsius", "F": " Fahrenheit"}.get(m.group(2), "")
        value = number(m.group(1), as_year=False)
        return f"{value} {'degree' if value == 'one' else 'degrees'}{scale}", False
    # Letters and digits together ("G7", "COVID-19", "10km"), and symbols between words.
    spoken = _LETTER_DIGIT_HYPHEN_RE.sub(" ", core)
    spoken = re.sub(r"(?<![A-Za-z0-9])[-−](?=\d)", "minus ", spoken)
    spoken = _DIGITS_RE.sub(lambda d: f" {number(d.group(), as_year=False)} ", spoken)
    for symbol, words in _SYMBOL_WORDS.items():
        spoken = spoken.replace(symbol, words)
    return spoken, False


def _tokens_en(text: str) -> list[Token]:
    raw = text.split()
    tokens: list[Token] = []
    i = 0
    while i < len(raw):
        word = raw[i]
        lead = _LEAD_RE.match(word)
        lead_s = lead.group() if lead else ""
        rest = word[len(lead_s):]
        trail = _TRAIL_RE.search(rest)
        trail_s = trail.group() if trail else ""
        core = rest[: len(rest) - len(trail_s)]
        next_word = raw[i + 1] if i + 1 < len(raw) and not trail_s.strip("\"'”’)]") else ""
        spoken, ate_next = _speak_core_en(core, next_word) if core else ("", False)
        written = word
        if ate_next:
            i += 1
            written = f"{word} {raw[i]}"
            trail_m = _TRAIL_RE.search(raw[i])
            trail_s = trail_m.group() if trail_m else ""
        spoken = " ".join(strip_symbols(spoken).split())
        trail_s = "".join(ch for ch in trail_s if ch in ".,;:!?")
        if spoken and not any(ch.isalnum() for ch in spoken):
            # A dash or an ellipsis between words: a short pause, not a word.
            trail_s = trail_s or ","
            spoken = ""
        if spoken:
            tokens.append(Token(written, spoken + trail_s))
        elif trail_s and tokens:
            # A dropped token (an emoji) that carried the sentence's full stop: keep the stop.
            prev = tokens[-1]
            if not prev.spoken.endswith(tuple(".,;:!?")):
                tokens[-1] = Token(prev.written, prev.spoken + trail_s)
        i += 1
    return tokens


# --------------------------------------------------------------------------- CJK tokens

_CJK_NUMBER_RE = re.compile(r"(?<!\d)[-−]?\d(?:[\d,]*\d)?(?:\.\d+)?(?:/\d+)?(?:%|年|月|日|号)?")
_CJK_PUNCT = set("。，、；：！？「」『』（）《》…—,.;:!?\"“”'‘’()")


@cache
def _number_patterns(reader: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The number token a reader takes (the Mandarin reader also takes clock times, scores and ℃) and the
    pattern that splits a text into URLs, e-mail addresses and such numbers."""
    number = re.compile(NUMBER_PATTERNS[reader]) if reader in NUMBER_PATTERNS else _CJK_NUMBER_RE
    return number, re.compile(rf"({_URL_RE.pattern}|{_EMAIL_RE.pattern}|{number.pattern})", re.IGNORECASE)


def read_cn2an(text: str, profile: LanguageProfile, before: str = "", after: str = "") -> str:
    """Chinese reading: "2026年" -> "二零二六年", "3.5%" -> "百分之三点五", "1,200" -> "一千二百" (cn2an)."""
    import cn2an

    plain = text.replace(",", "").replace("−", "-")
    try:
        return cn2an.transform(plain, "an2cn")
    except Exception:  # cn2an raises bare ValueErrors on odd input; read the digits one by one then
        log.debug("cn2an could not read %r; reading digit by digit", text)
        return profile.numbers.digit_by_digit(plain).replace("%", "")


def _jieba_cut(text: str) -> list[str]:
    import jieba

    logging.getLogger("jieba").setLevel(logging.WARNING)
    return jieba.lcut(text, cut_all=False)


_NUMERAL_PARTS_RE = re.compile(r"([-−]?)([\d,]+)(?:\.(\d+))?(/\d+)?(%|年|月|日|号)?")


def read_numerals(text: str, profile: LanguageProfile, before: str = "", after: str = "") -> str:
    """A written number in the profile's numerals: "2026年" -> "二千二十六年", "3.5%" -> "三点五" + percent."""
    numbers = profile.numbers
    match = _NUMERAL_PARTS_RE.fullmatch(text)
    if match is None or match.group(4):  # fractions are read digit by digit
        return numbers.digit_by_digit(text.replace(",", ""))
    sign, whole, fraction, _, suffix = match.groups()
    spoken = (numbers.minus if sign else "") + numbers.spell(int(whole.replace(",", "") or "0"))
    if fraction:
        spoken += numbers.point + "".join(numbers.digits[int(d)] for d in fraction)
    return spoken + (numbers.percent if suffix == "%" else suffix or "")


def read_zh(text: str, profile: LanguageProfile, before: str = "", after: str = "") -> str:
    """Mandarin as a presenter reads it, by context: "2025年" -> "二零二五年", "2个" -> "两个" (`lang.zh_numbers`)."""
    return zh_numbers.read(text, before, after)


# Name -> reader of a written number ("2026年", "3.5%") given the text before and after it, the pattern a
# number token matches for it, and name -> word segmenter, for the profiles' `voice.number_reader` and
# `voice.segmenter`.
NUMBER_READERS: dict[str, Callable[[str, LanguageProfile, str, str], str]] = {
    "cn2an": read_cn2an, "numerals": read_numerals, "zh": read_zh}
NUMBER_PATTERNS: dict[str, str] = {"zh": zh_numbers.NUMBER_PATTERN}  # the others take `_CJK_NUMBER_RE`
@cache
def _mecab():
    from fugashi import Tagger  # MeCab with UniDic-lite (bundled in its wheel)

    return Tagger()


def _unidic_cut(text: str) -> list[str]:
    """Japanese words (MeCab + UniDic-lite), with the spaces between them kept as tokens."""
    out: list[str] = []
    for word in _mecab()(text):
        if word.white_space:
            out.append(word.white_space)
        out.append(word.surface)
    return out


SEGMENTERS: dict[str, Callable[[str], list[str]]] = {"jieba": _jieba_cut, "unidic": _unidic_cut}


def _tokens_cjk(text: str, profile: LanguageProfile) -> list[Token]:
    rules = profile.voice
    read_number, segment = NUMBER_READERS[rules.number_reader], SEGMENTERS[rules.segmenter]
    number_re, split_re = _number_patterns(rules.number_reader)
    tokens: list[Token] = []
    if rules.range_word:
        # 2020-2025年 -> 2020年至2025年; 3-5度 -> 3至5度; 10%-20% -> 10%至20%. Not inside phone numbers
        # (010-12345678) or dates (2026-05-07): only numbers of up to 5 digits either side.
        text = re.sub(rf"(?<!\d)(\d{{4}})\s*[-–—~～{rules.range_word}]\s*(\d{{4}})年", rf"\1年{rules.range_word}\2年", text)
        text = re.sub(r"(?<![\d.-])(\d{1,5}(?:\.\d+)?%?)\s*[-–~～]\s*(?=\d{1,5}(?:\.\d+)?(?![\d-]))",
                      rf"\1{rules.range_word}", text)
    dot = rules.url_dot
    parts = split_re.split(text)
    for i, part in enumerate(parts):
        if not part:
            continue
        if i % 2 == 1:  # a URL, an e-mail address or a number
            if _EMAIL_RE.fullmatch(part):
                user, _, host = part.partition("@")
                spoken = f"{user} at {spoken_domain(host, dot)}"
            elif _URL_RE.fullmatch(part) and not number_re.fullmatch(part):
                spoken = spoken_domain(part, dot)
            else:
                spoken = read_number(part, profile, parts[i - 1][-8:], parts[i + 1][:6] if i + 1 < len(parts) else "")
            tokens.append(Token(part, spoken))
            continue
        for word in segment(strip_symbols(part)):
            if not word.strip():
                continue
            word = word.strip()
            if all(ch in _CJK_PUNCT for ch in word) and tokens:
                prev = tokens[-1]
                tokens[-1] = Token(prev.written + word, prev.spoken + word)
            elif not all(ch in _CJK_PUNCT for ch in word):
                tokens.append(Token(word, word))
    return tokens


NORMALISERS: dict[str, Callable[[str, LanguageProfile], list[Token]]] = {
    "english": lambda text, _profile: _tokens_en(text),
    "cjk": _tokens_cjk,
}


# --------------------------------------------------------------------------- public helpers

_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if chr(c - 0xFEE0).isalnum() or chr(c - 0xFEE0) in "%."}
_FULL_WIDTH[0x3000] = ord(" ")


def _check(text: str, language: str) -> tuple[str, LanguageProfile]:
    found = lang.find(language)
    if found is None:
        raise ConfigError(f"no voice for language {language!r}: choose one of {', '.join(lang.CODES)}")
    if not isinstance(text, str):
        raise ConfigError(f"the script must be text, not {type(text).__name__}")
    # Full-width digits, letters and % become ASCII; CJK punctuation stays as written.
    text = text.translate(_FULL_WIDTH) if found.voice.full_width_text else unicodedata.normalize("NFKC", text)
    text = text.strip()
    for line in text.splitlines():
        label = found.speaker_label(line)
        if label is not None:
            raise ScriptLabelError(
                f"the script has the speaker label {label!r} at the start of a line ({line.strip()[:60]!r}): "
                "the voice would read it aloud. Remove speaker labels from the script (news drafts strip them; "
                "for a script written by hand, keep only the words the anchor says)"
            )
    if len(text) > MAX_SCRIPT_CHARS:
        raise ConfigError(
            f"the script is {len(text):,} characters; the anchor reads at most {MAX_SCRIPT_CHARS:,}: "
            "shorten the script (an intro of a minute or two is ~150-300 words) or split it into several stories"
        )
    return text, found


def tokens(text: str, language: str) -> list[Token]:
    """The script as (written, spoken) tokens; tokens that are not spoken (emoji) are left out."""
    text, profile = _check(text, language)
    return NORMALISERS[profile.voice.normaliser](text, profile)


def _join(parts: list[str], profile: LanguageProfile) -> str:
    if profile.spaced:
        return " ".join(parts)
    out = ""
    for part in parts:
        # Spaces only between two Latin words ("GDP" "and"); CJK runs join directly.
        if out and re.match(r"[A-Za-z0-9]", part[0]) and re.search(r"[A-Za-z0-9]$", out):
            out += " "
        out += part
    return out


def normalize_text(text: str, language: str) -> str:
    """What the voice reads: numbers in words, URLs as spoken domains, no emoji, single spaces.

    >>> normalize_text("Prices rose 3.5% in 2026, see example.com 📈", "en")
    'Prices rose three point five percent in twenty twenty-six, see example dot com'
    """
    return _join([t.spoken for t in tokens(text, language)], lang.profile(language))


# --------------------------------------------------------------------------- sentences and chunks

_CLOSERS = "\"'”’)]」』）"


def _ends_sentence(token: Token, profile: LanguageProfile) -> bool:
    spoken = token.spoken.rstrip(_CLOSERS)
    if not spoken.endswith(tuple(profile.voice.sentence_marks)):
        return False
    if profile.voice.abbreviations and spoken.endswith("."):
        word = spoken.rstrip(".").lower()
        if word in profile.voice.abbreviations or re.fullmatch(r"[a-z]", word) or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
            return False
    return True


def _size(chunk: list[Token], profile: LanguageProfile) -> int:
    if not profile.spaced:
        return sum(len(re.sub(r"\s", "", t.spoken)) for t in chunk)
    return sum(len(t.spoken.split()) for t in chunk)


def _bound(sentence: list[Token], profile: LanguageProfile) -> list[list[Token]]:
    """A sentence within the size limit as it is; a longer one packed clause by clause, then cut."""
    limit = profile.voice.max_chunk
    if _size(sentence, profile) <= limit:
        return [sentence]
    clauses: list[list[Token]] = [[]]
    for token in sentence:
        clauses[-1].append(token)
        if token.spoken.rstrip(_CLOSERS).endswith(tuple(profile.voice.clause_marks)):
            clauses.append([])
    pieces: list[list[Token]] = []
    for clause in filter(None, clauses):
        if pieces and _size(pieces[-1], profile) + _size(clause, profile) <= limit:
            pieces[-1].extend(clause)
            continue
        while _size(clause, profile) > limit:  # no comma to break at: cut between words
            cut, total = 0, 0
            while cut < len(clause) - 1 and total + _size(clause[cut:cut + 1], profile) <= limit:
                total += _size(clause[cut:cut + 1], profile)
                cut += 1
            cut = max(cut, 1)
            pieces.append(clause[:cut])
            clause = clause[cut:]
        pieces.append(list(clause))
    return [p for p in pieces if p]


def chunks(text: str, language: str) -> list[Chunk]:
    """The script as bounded chunks with the pause after each; raises ConfigError when nothing is said."""
    toks = tokens(text, language)
    if not toks:
        raise ConfigError("the script has nothing to say (it is empty, or only symbols/emoji): write the anchor's words")
    profile = lang.profile(language)
    sentences: list[list[Token]] = [[]]
    for token in toks:
        sentences[-1].append(token)
        if _ends_sentence(token, profile):
            sentences.append([])
    out: list[Chunk] = []
    for sentence in filter(None, sentences):
        pieces = _bound(sentence, profile)
        for i, piece in enumerate(pieces):
            pause = profile.voice.sentence_pause_s if i == len(pieces) - 1 else CLAUSE_PAUSE_S
            out.append(Chunk(tuple(piece), _join([t.spoken for t in piece], profile), pause))
    return out
