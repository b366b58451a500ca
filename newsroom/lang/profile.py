"""`LanguageProfile`: everything the library needs to know about one language, in one frozen record.

Each language is one module beside this one (`en.py`, `zh.py`, ...) that builds its profile; the
registry in `newsroom.lang` lists them. Modules ask the profile (`profile(code).joiner`, `.subtitles`,
`.voice`...) and never test a language code themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from newsroom.lang.numbers import NumberWords
from newsroom.lang.scripts import Script


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
    number_reader: str = ""  # "cjk" normaliser: how numerals are read ("cn2an")
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

    def stand_in_headline(self, sentence: str) -> str:
        """The first `headline_stand_in` words (with "...") or characters of `sentence`."""
        if not self.spaced:
            return sentence[: self.headline_stand_in]
        words = sentence.split()
        cut = len(words) > self.headline_stand_in
        return " ".join(words[: self.headline_stand_in]) + ("..." if cut else "")
