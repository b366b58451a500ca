"""`LanguageProfile`: everything the library needs to know about one language, in one frozen record.

Each language is one module beside this one (`en.py`, `zh.py`, ...) that builds its profile; the
registry in `newsroom.lang` lists them. Modules ask the profile (`profile(code).joiner`, `.subtitles`,
`.voice`...) and never test a language code themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from newsroom.lang.numbers import NumberWords
from newsroom.lang.scripts import Script


@dataclass(frozen=True, slots=True)
class LineRule:
    """How a cue's text is broken into lines for one picture shape: at most `chars_per_line` characters (counted as
    `SubtitleRules.half_width_counts_half` says) on each of at most `lines` lines."""

    chars_per_line: int
    lines: int


@dataclass(frozen=True, slots=True)
class SubtitleRules:
    """Broadcast subtitle limits and line-breaking words (see `newsroom.subtitles.cues` for the rules every
    language shares)."""

    chars_per_line: int
    chars_per_s: float  # reading speed, in characters counted as `count_spaces` says
    lines: int = 2
    # How the reading speed counts: True, every character a viewer reads including spaces (a line break
    # read as one), as Netflix and the BBC count English; False, every non-space character (CJK guides).
    count_spaces: bool = True
    conjunctions: frozenset[str] = frozenset()  # a cue or line may break before these words
    break_after: frozenset[str] = frozenset()  # ...and after a word ending in one of these (particles)
    line_end_avoid: frozenset[str] = frozenset()  # words a line should not end on (articles, prepositions...)
    word_scripts: tuple[Script, ...] = ()  # two neighbours both in one of these: likely one word, break elsewhere
    half_width_counts_half: bool = False  # line width and reading speed in full-width characters
    segmenter: str = ""  # word segmenter (newsroom.lang.words) whose words no line or cue break splits
    clause_space: str = ""  # a space ASR leaves between two of the script's characters marks a clause: this mark
    dialogue_dash: str = "- "  # starts each speaker's line when two speakers share a cue
    # A 9:16 (vertical) picture's lines: shorter lines in a larger font, up to 3 (social-video practice); the same
    # cues and timings, re-broken (newsroom.subtitles.cues.rewrap). None: the 16:9 rule.
    vertical: LineRule | None = None

    @property
    def vertical_rule(self) -> LineRule:
        return self.vertical or LineRule(self.chars_per_line, self.lines)


@dataclass(frozen=True, slots=True)
class AsrRules:
    """How speech recognition is steered and its text put into the language's house style."""

    prompt: str | None = None  # Whisper's initial prompt
    convert_to: str | None = None  # zhconv locale the text is converted to (e.g. "zh-cn": Simplified)
    full_width: tuple[tuple[str, str], ...] = ()  # ASCII punctuation after the script's characters -> this
    detect_by_default: bool = True  # in NEWSROOM_LANGUAGES unless the newsroom says otherwise
    # Words Whisper gives a lower probability are "possible mis-hearings" for the editor (newsroom.asr.confidence)
    min_word_probability: float = 0.5


@dataclass(frozen=True, slots=True)
class VoiceRules:
    """The anchor voice and how a script is read: normalised, cut into sentences and breath-sized chunks."""

    engine: str  # tts engine registry name: "piper", "kokoro"
    voice: str  # the engine's voice id (NEWSROOM_TTS_VOICES__<CODE> overrides it)
    normaliser: str  # tts.text normaliser: "english" (word by word), "cjk" (segmented, numerals)
    sentence_marks: str  # where the voice ends a sentence (a longer pause)
    clause_marks: str  # where a long sentence may be cut into chunks
    sentence_pause_s: float
    max_chunk: int  # words (spaced languages) or characters per engine call
    g2p: str = ""  # grapheme-to-phoneme registry name for engines that need one ("misaki-zh")
    full_width_text: bool = False  # full-width letters/digits to ASCII, punctuation kept (else NFKC)
    abbreviations: frozenset[str] = frozenset()  # "dr" in "Dr. Jones": a full stop that ends no sentence
    number_reader: str = ""  # "cjk" normaliser: how numerals are read ("zh", "numerals", "cn2an")
    segmenter: str = ""  # "cjk" normaliser: word segmenter ("jieba")
    url_dot: str = " dot "  # how the dots of a URL are read
    range_word: str = ""  # "3-5" read as "3 <range_word> 5"
    espeak: str = ""  # the espeak-ng voice that phonemises the language (reading a presenter's footage)


def _no_map() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity, as profiles are (its tables are mappings)
class SpokenForms:
    """What a written text needs before the voice reads it (`newsroom.lang.spoken.speakable`): written-out
    abbreviations, units after a number, and dates in the form the voice reads well. Numbers themselves are
    the voice normaliser's business (`newsroom.tts.text`)."""

    words: Mapping[str, str] = field(default_factory=_no_map)  # a whole written word -> what is said ("Dr." -> "Doctor")
    units: Mapping[str, str] = field(default_factory=_no_map)  # after a number: "km" -> "kilometres"
    months: tuple[str, ...] = ()  # month names, January first (dates written with names are recognised)
    iso_date: str = "{year}-{month}-{day}"  # how 2026-05-07 is written for the voice ({month}: name if `months`)
    day_month: str = ""  # how "7 May" is written for the voice ("" leaves it)
    month_day: str = ""  # how "May 7" is written for the voice
    day: Callable[[int], str] = str  # a day of the month as written for the voice (7 -> "7th")


@dataclass(frozen=True, slots=True)
class DraftRules:
    """What the news draft is held to (`newsroom.llm.draft`)."""

    prompt: str  # prompt template suffix: prompts/draft.v1.<prompt>.md
    written_as: str  # named in the retry message when the model answers in another language
    min_content: int  # words / characters below which there is nothing to write about
    body: tuple[int, int]  # target length in words / characters
    anchor: tuple[int, int]
    units_per_s: float  # anchor reading speed in words / characters a second
    notes_labels: tuple[str, str]  # headings of long-transcript notes: facts, quotes
    stage_phrases: tuple[str, ...]  # greetings and sign-offs an anchor script must not invent
    script: Script  # counted for the language check of the draft's prose...
    script_share: tuple[float, float]  # ...whose share of the letters must lie in this range
    headline_in_script: bool  # the headline must contain the script
    min_quote: int  # words / characters of a meaningful quote
    check_names: bool = False  # capitalised words the transcript never uses are flagged
    # The desk's style, enforced after the model answers (newsroom.llm.style):
    headline: tuple[int, int] = (3, 12)  # headline length in words / characters
    dateline: str = ""  # regex of dateline formulas ("本台消息", "据报道") never kept in a headline
    speaker_labels: tuple[str, ...] = ()  # role words that label a speaker at a line's start ("Anchor:")
    attribution: tuple[str, ...] = ()  # words that introduce a quote with its speaker ("said", "表示")
    # Honest lengths for short transcripts: (lowest, highest) share of the transcript's own length that the
    # body and the anchor script are held to when the full targets would need padding.
    source_share: tuple[float, float] = (0.6, 1.0)
    anchor_share: tuple[float, float] = (0.4, 0.6)
    # How names, places, organisations and dates are found for grounding (newsroom.llm.grounding.ENTITY_FINDERS):
    entities: str = ""  # "capitalised" (spans of capitalised words), "lac" (a Chinese NER), "" (numbers only)
    # How a sentence's content words are held to the transcript (newsroom.llm.support.SOURCES): "stems"
    # (English, Snowball stems), "jieba" (Mandarin words), "" (not checked).
    support: str = ""

    def targets(self, source_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """(body, anchor script) length targets for a transcript of `source_size` words / characters: the
        profile's targets, scaled down for a transcript too short to fill them without padding."""

        def scaled(target: tuple[int, int], share: tuple[float, float]) -> tuple[int, int]:
            top = min(target[1], max(1, round(source_size * share[1])))
            return min(target[0], max(1, round(source_size * share[0])), top), top

        return scaled(self.body, self.source_share), scaled(self.anchor, self.anchor_share)


@dataclass(frozen=True, slots=True)
class AttributionRules:
    """How a transcript says who is speaking (`newsroom.llm.attribution` applies them; quotes take their speaker
    from them). Patterns are regular expressions searched case-insensitively in one sentence, each with a
    `name` group; `said` patterns also have a `content` group: the words that person said."""

    said: tuple[str, ...] = ()  # a sentence that reports speech: "..., said X" / "据X介绍，..."
    leads: tuple[str, ...] = ()  # a clause that leads into the speech after it: "X said:" / "据X介绍，"
    introduces: tuple[str, ...] = ()  # a sentence that names the next speaker: "Joining us is X" / "我们请到了X"
    self_names: tuple[str, ...] = ()  # a sentence that names its own speaker: "my name is X" / "我是X"
    name: str = r"\S.*"  # a name is the first match of this in the caught words (case-sensitive), else none
    not_names: frozenset[str] = frozenset()  # pronouns and roles the patterns may catch: never a name


@dataclass(frozen=True, slots=True)
class LanguageProfile:
    code: str  # ISO 639-1, as Whisper and the transcript contract spell it
    name: str
    iso639_2: str  # MP4 track language tag
    script: Script  # the characters the language is written in
    joiner: str  # between words: " ", or "" for languages written without spaces
    sentence_marks: str  # in written text: transcripts, subtitles, the draft
    clause_marks: str
    subtitles: SubtitleRules
    numbers: NumberWords
    asr: AsrRules
    voice: VoiceRules
    draft: DraftRules
    font_region: str  # Noto Sans CJK face: SC, TC, HK, JP, KR
    glyph_em: float  # average advance of a character in em (subtitle font size)
    headline_stand_in: int  # words / characters of the transcript's first sentence used until a draft exists
    lower_third_chars: int  # characters a lower-third line holds at 1280 px
    stopwords: frozenset[str] = frozenset()  # left out of keyword matching (spaced languages)
    spoken: SpokenForms = field(default_factory=SpokenForms)  # abbreviations, units and dates made speakable
    attribution: AttributionRules = field(default_factory=AttributionRules)  # who says a quote

    @property
    def spaced(self) -> bool:
        """Whether words are separated by spaces (else every character counts on its own)."""
        return bool(self.joiner)

    @property
    def unit(self) -> str:
        """What lengths are counted in: "words" or "characters"."""
        return "words" if self.spaced else "characters"

    @property
    def font_family(self) -> str:
        """The fontconfig family of Noto Sans CJK for this language's region."""
        return f"Noto Sans CJK {self.font_region}"

    def join(self, words) -> str:
        return self.joiner.join(words)

    def speaker_label(self, line: str) -> str | None:
        """The speaker label that opens `line` ("主持人：", "Anchor:", "HOST:", "Reporter Jane Doe:"), or None:
        one of the draft rules' role words, in any case, optionally followed by a name, then a colon."""
        pattern = _label_re(self.draft.speaker_labels, self.spaced)
        found = pattern.match(line) if pattern is not None else None
        return found.group(0).strip() if found else None

    def stand_in_headline(self, sentence: str) -> str:
        """The first `headline_stand_in` words (with "...") or characters of `sentence`."""
        if not self.spaced:
            return sentence[: self.headline_stand_in]
        words = sentence.split()
        cut = len(words) > self.headline_stand_in
        return " ".join(words[: self.headline_stand_in]) + ("..." if cut else "")


@lru_cache(maxsize=16)
def _label_re(labels: tuple[str, ...], spaced: bool) -> re.Pattern[str] | None:
    if not labels:
        return None
    roles = "|".join(re.escape(r) for r in sorted(labels, key=len, reverse=True))
    # A name after the role: up to 3 words; in Chinese up to 4 characters, none of them a verb of reporting
    # ("记者了解到：" opens a sentence, "记者 王明：" labels a speaker).
    name = r"(?:\s+[^\s:：,，.。!?！？]{1,20}){0,3}" if spaced else r"\s?[^\s:：，。！？说了获到示称问指]{0,4}"
    boundary = r"\b" if spaced else ""
    return re.compile(rf"^[\s>*_\-–—]*(?:{roles}){boundary}{name}[*_]*\s*[:：]", re.IGNORECASE)
