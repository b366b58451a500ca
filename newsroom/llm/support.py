"""Claims the transcript does not make: a draft sentence whose content words the source never uses.

The grounding checks (`newsroom.llm.grounding`) hold numbers and names to the transcript. A small model also
writes whole sentences of background nobody said ("The expansion is part of a broader effort to improve public
transport and reduce congestion", on the sample, whose transcript says nothing of the kind). No entailment
model is packaged for offline use, so this is the lexical test a desk editor's eye makes first: the
sentence's content words, each looked up in the transcript.

- English (`"stems"`): words of three or more letters that are not function words or reporting verbs
  (`_EN_FUNCTION_WORDS`), compared by their Snowball stems (`snowballstemmer`, the Porter2 English stemmer);
  two stems sharing their first five letters (or the whole of a shorter one of four) count as one word, so
  expand / expansion and safely / safety match.
- Mandarin (`"jieba"`): jieba's words of two or more Han characters, less function words and reporting verbs
  (`_ZH_FUNCTION_WORDS`); a word is the source's when it, or one of its two-character runs, appears in the
  transcript's text.

A sentence is unsupported when at least `MIN_UNSUPPORTED_WORDS` of its content words, and at least
`MIN_UNSUPPORTED_SHARE` of them, are not the source's: a paraphrase swaps a word or two ("raised concerns" ->
"expressed concerns"), an invented claim brings its own vocabulary. Measured with `bench/draft_quality.py`
(its "invented claims" column; `bench/data/drafts-claims.json`): of the eight labelled clips' drafts, only
the sentences of one invented Mandarin script are caught, and none of the others. A claim made of the
transcript's own words passes: this is a lexical test, not entailment (no such model is packaged).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from newsroom.llm.quotes import compact

MIN_UNSUPPORTED_WORDS = 3
MIN_UNSUPPORTED_SHARE = 0.5
_PREFIX_LETTERS = 5  # stems sharing this many first letters are one word (expand/expans)
_SHORT_STEM_LETTERS = 4  # a stem this short matches a longer one that starts with it (safe/safeti)

_EN_FUNCTION_TEXT = """
a about above after again against all almost also although always am among an and another any are around as at
be because been before being below between both but by can cannot could did do does doing done down during each
either else even ever every few for from further had has have having he her here hers herself him himself his how
however i if in into is it its itself just least less let like made make makes many may me might more most much must
my myself near neither never no nor not now of off on once one only onto or other others our ours ourselves out over
own per rather same she should since so some such than that the their theirs them themselves then there these they
this those though through thus to too toward towards under until up upon us very via was we were what when where
whether which while who whom whose why will with within without would yet you your yours yourself
mr mrs ms dr
said say says saying told tell tells stated state states added add adds noted note notes according announced
announce announces explained explain highlighted emphasized emphasised stressed underlined mentioned mention claimed
urged called described describe expressed express expressing pointed remarked commented confirmed reported report
reports asked ask answered replied voiced shared spoke speaking spoken believes believe believed think thinks
also new news today tonight yesterday recently currently still already well including include includes
"""
_EN_FUNCTION_WORDS = frozenset(_EN_FUNCTION_TEXT.split())

_ZH_FUNCTION_TEXT = """
我们 你们 他们 她们 它们 自己 这个 那个 这些 那些 这样 那样 这里 那里 什么 怎么 如何 因为 所以 但是 而且 并且 以及 或者 还是
如果 虽然 然而 同时 此外 另外 其中 目前 已经 正在 将会 可以 能够 需要 应该 进行 开展 表示 指出 认为 称 说 强调 介绍 透露 提到
提出 宣布 报道 据悉 记者 获悉 方面 相关 有关 对于 关于 通过 根据 随着 以来 之后 之前 期间 今天 今年 昨天 明天 日前 近日 一个
一些 许多 很多 更加 非常 进一步 继续 不断 主要 重要 包括 其他 所有 各种 就是 也是 还有 没有 不是 成为 作为 为了 以便
来说 计划 准备 打算 将要 即将 可能 一直
"""
_ZH_FUNCTION_WORDS = frozenset(_ZH_FUNCTION_TEXT.split())


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A sentence's content words and those of them the transcript never uses."""

    words: tuple[str, ...]
    missing: tuple[str, ...]

    def without(self, names: list[str]) -> Unsupported:
        """The same words less those inside `names` (names and places are the entity check's to judge)."""
        folded = [n.lower() for n in names]
        keep = [w for w in self.words if not any(w in n for n in folded)]
        return Unsupported(tuple(keep), tuple(w for w in self.missing if w in keep))

    @property
    def claim(self) -> bool:
        """Too much of the sentence is not the source's: an invented claim, not a paraphrase."""
        return len(self.missing) >= MIN_UNSUPPORTED_WORDS and \
            len(self.missing) >= MIN_UNSUPPORTED_SHARE * len(self.words)


@cache
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def _en_words(text: str) -> list[str]:
    words = [w.lower().removesuffix("'s").removesuffix("’s") for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", text)]
    return [w for w in words if len(w) >= 3 and w not in _EN_FUNCTION_WORDS]


def _stem(word: str) -> str:
    """The word's Porter2 stem without a final e (close/closur, the stemmer keeps the e of one and not the other)."""
    stem = _stemmer().stemWord(word)
    return stem[:-1] if len(stem) > 4 and stem.endswith("e") else stem


def _same_stem(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) >= _PREFIX_LETTERS:
        return long_[:_PREFIX_LETTERS] == short[:_PREFIX_LETTERS]
    return len(short) >= _SHORT_STEM_LETTERS and long_.startswith(short)


class _EnglishSource:
    def __init__(self, transcript_text: str) -> None:
        self.stems = {_stem(w) for w in re.findall(r"[a-z][a-z'’-]*", transcript_text.lower())}
        self.prefixes = {s[:_PREFIX_LETTERS] for s in self.stems if len(s) >= _PREFIX_LETTERS}

    def check(self, sentence: str) -> Unsupported:
        words = list(dict.fromkeys(_en_words(sentence)))
        missing = [w for w in words if not self._known(_stem(w))]
        return Unsupported(tuple(words), tuple(missing))

    def _known(self, stem: str) -> bool:
        if stem in self.stems or (len(stem) >= _PREFIX_LETTERS and stem[:_PREFIX_LETTERS] in self.prefixes):
            return True
        return any(_same_stem(stem, s) for s in self.stems if len(s) < _PREFIX_LETTERS or len(stem) < _PREFIX_LETTERS)


_HAN_RE = re.compile(r"^[\u4e00-\u9fff]{2,}$")


class _MandarinSource:
    def __init__(self, transcript_text: str) -> None:
        self.stream = compact(transcript_text)

    def check(self, sentence: str) -> Unsupported:
        import jieba

        words = list(dict.fromkeys(w for w in jieba.lcut(sentence) if _HAN_RE.match(w) and w not in _ZH_FUNCTION_WORDS))
        missing = [w for w in words if not any(w[i:i + 2] in self.stream for i in range(len(w) - 1))]
        return Unsupported(tuple(words), tuple(missing))


# LanguageProfile.draft.support -> how a sentence's words are held to the transcript ("" : not checked).
SOURCES: dict[str, Callable[[str], _EnglishSource | _MandarinSource]] = {
    "stems": _EnglishSource,
    "jieba": _MandarinSource,
}


class Support:
    """The transcript's vocabulary, built once; `check(sentence)` finds the sentence's words it lacks."""

    def __init__(self, transcript_text: str, kind: str) -> None:
        self._source = SOURCES[kind](transcript_text) if kind else None

    def check(self, sentence: str) -> Unsupported:
        if self._source is None:
            return Unsupported((), ())
        return self._source.check(sentence)
