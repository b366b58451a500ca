"""Mandarin anchor voice: ttskit's native multi-speaker Mellotron + MelGAN (torch, CPU), phkit G2P.

ttskit 0.3.8 ships 24 Mandarin voices in one Tacotron-2-style network ("mspk": a speaker is the md5 of
its name) and a MelGAN vocoder, 22.05 kHz. Measured with the project's Whisper base on two sets of 24
held-out news lines (bench/tts_zh.py, sets a/b): `Aiyue` CER 0.104/0.158, `biaobei` 0.106/0.142, `Aijia`
0.115/0.141, tied within the spread between seeds; Kokoro's Japanese `jm_kumo` reading pinyin phonemes
-/0.182. `Aiyue` is the default (biaobei's corpus is explicitly non-commercial). Kokoro stays selectable
(`NEWSROOM_TTS_VOICES__ZH=kokoro:jm_kumo`).

Licence: ttskit's code is MIT; its voices' training data has unstated terms: `biaobei` is Databaker's
corpus (free for non-commercial use only), the other names match a commercial cloud TTS catalogue
(Alibaba Cloud's). Clear the rights before airing them commercially.

How it is used here:
- Weights only. The two checkpoints are verified copies from the model registry (sha256 re-read at every
  load), read by torch's weights-only unpickler into the inference code in `mellotron.py`. ttskit itself is
  never imported: its downloader, its `sys.path` changes and its librosa/aukit/scikit-learn imports
  never run, and nothing here opens a socket.
- Text. Our normaliser writes numbers, dates and URLs as words (`newsroom.lang.zh_numbers`: years digit
  by digit, 两 before measure words, scores, clock times, phone numbers); phkit (ttskit's own front end)
  turns the characters into the toned phonemes the network was trained on, one `-` per character, which
  maps every input symbol back to its character. Two of phkit's steps are replaced (`phonemes`): its
  traditional-to-simplified conversion, which rewrote Simplified characters (著名 -> 着名, read zhe), and
  its reading of a jieba word missing from its phrase list character by character (长江大桥: zhang).
  phkit loads its pinyin tables into pypinyin's global dictionaries on first use (the same data pypinyin
  ships, a slightly different phrase list).
- Reading. A chunk is read in pieces of at most `MAX_PIECE_CHARS` characters, cut after punctuation
  where possible (attention models lose their place on long inputs; ttskit cuts at 30 too). The prenet's
  dropout makes every read a draw: each piece uses a fixed seed, so the same script gives the same
  samples. A piece whose decoder never stops or whose attention does not reach the end of its text is
  read again with the next seed, then split in two.
- Timings. There are no phoneme timings (`phonemes=()`: the anchor animates the mouth from the audio
  energy). Word timings come from the decoder's attention: every 256-sample frame attends to one input
  symbol, hence one character, hence one word; a word runs from the first frame on its first sounding
  character to the first frame past its last one (a comma's pause belongs to no word).
- Level. The read leaves at -16 LUFS with its true peak at or under -1 dBTP (the network's own output
  peaks at 0 dBFS).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from newsroom.audio.loudness import PROFILES
from newsroom.config import Settings, get_settings
from newsroom.errors import ConfigError, ModelNotInstalledError
from newsroom.models.registry import ModelRegistry
from newsroom.tts.base import Progress, Rendered, speak
from newsroom.tts.text import Chunk, Token, chunks
from newsroom.types import Speech

log = logging.getLogger("newsroom.tts")

MODEL_ID = "ttskit-mspk-zh"
MELLOTRON_FILE = "mellotron.kuangdd-mspk.pt"
MELGAN_FILE = "melgan.kuangdd.pt"
# The speakers the checkpoint was trained on (ttskit.resource._speaker_dict); any other name would give
# an untrained speaker code.
SPEAKERS = (
    "Aibao", "Aicheng", "Aida", "Aijia", "Aijing", "Aimei", "Aina", "Aiqi", "Aitong", "Aiwei", "Aixia", "Aiya",
    "Aiyu", "Aiyue", "Siyue", "Xiaobei", "Xiaogang", "Xiaomei", "Xiaomeng", "Xiaowei", "Xiaoxue", "Xiaoyun",
    "Yina", "biaobei",
)
DEFAULT_SPEAKER = "Aiyue"
LOUDNESS = PROFILES["web"]  # -16 LUFS integrated, true peak <= -1 dBTP
MAX_PIECE_CHARS = 30
PIECE_PAUSE_S = 0.08  # between two pieces of one clause cut after punctuation (the chunk's own pauses are longer)
EDGE_SILENCE_S = 0.3  # before the first word and after the last, as ttskit's own tts_sdk leaves (see `synthesize`)
SEED = 20260101
ATTEMPTS = 3  # seeds tried on a piece before it is split
DECODER_THREADS = 1  # the decoder is ~1000 tiny sequential steps: more threads only spin (0.6 vs 21 CPU-s measured)
TRIM_FLOOR_DB = -45.0  # edge frames quieter than this (re the piece's loudest frame) are trimmed
TRIM_MARGIN_FRAMES = (2, 3)  # kept before the first / after the last loud frame
_PUNCTUATION = frozenset("。，、；：！？「」『』（）《》…—,.;:!?\"“”'‘’()- ")
_CLAUSE_END = tuple("。，、；：！？,.;:!?")
_CHAIN, _EOS, _PAD = "-", "~", "_"  # phkit: end of one character's phonemes, end of text, padding


class TtskitVoice:
    """The native Mandarin anchor voice. Construct with `TtskitVoice.load()`; `synthesize` many times."""

    language = "zh"
    languages = frozenset({language})  # the one language this model's phonemes read
    engine = "ttskit"

    def __init__(self, networks, frontend, voice: str, settings: Settings) -> None:
        self._networks = networks
        self._frontend = frontend  # phkit.chinese.sequence
        self.voice = voice
        self._settings = settings
        self.model_id = MODEL_ID
        from newsroom.tts.mellotron import speaker_vector

        self._speaker = speaker_vector(voice)

    @classmethod
    def load(cls, settings: Settings | None = None, *, voice: str | None = None) -> TtskitVoice:
        settings = settings or get_settings()
        voice = voice or DEFAULT_SPEAKER
        if voice not in SPEAKERS:
            raise ConfigError(f"ttskit has no voice {voice!r}: choose one of {', '.join(SPEAKERS)} "
                              "(e.g. NEWSROOM_TTS_VOICES__ZH=ttskit:Aiyue)")
        folder = ModelRegistry(settings).resolve(MODEL_ID, rehash=True)
        try:
            import torch  # noqa: F401

            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                from phkit.chinese import sequence as frontend  # its import prints nothing; its tables do

            from newsroom.tts.mellotron import Networks
        except ImportError as exc:
            raise ModelNotInstalledError(
                f"the ttskit Mandarin voice needs torch and phkit ({exc.name} is missing): "
                "pip install 'newsroom[tts]' (torch==2.13.0, the CPU build) or run 'make setup'"
            ) from exc
        logging.getLogger("jieba").setLevel(logging.WARNING)
        networks = Networks.load(folder / MELLOTRON_FILE, folder / MELGAN_FILE)
        self = cls(networks, frontend, voice, settings)
        self._phonemes("你好。")  # phkit reads its pinyin tables on first use (~1 s): at load, not mid-read
        log.info("loaded %s (%s, voice %s)", MODEL_ID, folder, voice)
        return self

    @property
    def sample_rate_hz(self) -> int:
        from newsroom.tts.mellotron import SAMPLE_RATE_HZ

        return SAMPLE_RATE_HZ

    # -- per call
    def synthesize(self, text: str, out_wav: str | Path, *, progress: Progress | None = None) -> Speech:
        """Read `text` (normalised, sentence by sentence) into `out_wav` at settings.tts_sample_rate_hz.

        The read starts and ends with EDGE_SILENCE_S of silence (the word timings count it): a read cut to
        its first sound was heard worse by our Whisper base (set a of bench/tts_zh.py: CER 0.114 without,
        0.104 with 0.3 s, the same samples otherwise)."""
        return speak(chunks(text, self.language), self._render, out_wav,
                     sample_rate_hz=self._settings.tts_sample_rate_hz, language=self.language,
                     engine=self.engine, text=text, progress=progress, loudness=LOUDNESS, edge_s=EDGE_SILENCE_S)

    def _phonemes(self, text: str) -> list[str]:
        return phonemes(text, self._frontend)

    def symbols(self, text: str) -> tuple[list[int], list[int]]:
        """Input ids for `text` and, per id, the index of the character it belongs to (-1: end marks).

        phkit closes every character's phonemes with `-`; when its count disagrees with the text (never
        seen), characters are spread evenly over the ids instead.
        """
        phonemes = self._phonemes(text)
        ids_of = self._frontend.ph2id_dict
        ids, owners = [], []
        char = 0
        for ph in phonemes:
            if ph in ids_of:
                ids.append(ids_of[ph])
                owners.append(-1 if ph in (_EOS, _PAD) else char)
            if ph == _CHAIN:
                char += 1
        if char != len(text):
            log.debug("phkit gave %d characters for %d in %r: spreading them evenly", char, len(text), text)
            spoken = [i for i, o in enumerate(owners) if o >= 0]
            for rank, i in enumerate(spoken):
                owners[i] = rank * len(text) // max(len(spoken), 1)
        return ids, owners

    def _render(self, chunk: Chunk) -> Rendered:
        pieces = _pieces(chunk.tokens)
        rate = self.sample_rate_hz
        parts: list[np.ndarray] = []
        words: list[tuple[str, int, int]] = []
        offset = 0
        for i, piece in enumerate(pieces):
            for audio, piece_words in self._read(piece):
                parts.append(audio)
                words.extend((w, offset + a, offset + b) for w, a, b in piece_words)
                offset += len(audio)
            if i < len(pieces) - 1:
                pause = np.zeros(round(PIECE_PAUSE_S * rate), np.float32)
                parts.append(pause)
                offset += len(pause)
        return Rendered(np.concatenate(parts), rate, words=tuple(words))

    def _read(self, tokens: Sequence[Token]) -> list[tuple[np.ndarray, list[tuple[str, int, int]]]]:
        """One piece as (audio, word spans), re-read or split when the attention fails."""
        from newsroom.tts.mellotron import HOP_SAMPLES

        text, starts = _text(tokens)
        ids, owners = self.symbols(text)
        best = None
        for attempt in range(ATTEMPTS):
            result = self._networks.synthesize(ids, self._speaker, seed=SEED + attempt,
                                               threads=DECODER_THREADS)
            reached = max((owners[s] for s in result.attended if owners[s] >= 0), default=-1)
            if result.stopped and reached >= len(text) - 2:  # the last character may be a stop
                best = result
                break
            log.debug("ttskit attempt %d on %r: stopped=%s, read to character %d of %d",
                      attempt + 1, text, result.stopped, reached + 1, len(text))
            best = best or result
        else:
            if len(tokens) > 1:
                half = len(tokens) // 2
                log.info("ttskit lost its place in %r: reading it in two halves", text)
                return self._read(tokens[:half]) + self._read(tokens[half:])
            log.warning("ttskit could not read %r cleanly after %d attempts; keeping the first", text, ATTEMPTS)
        assert best is not None
        chars = np.array([owners[s] for s in best.attended])
        chars = np.maximum.accumulate(np.where(chars < 0, len(text), chars))  # end marks: past the text
        first, last = _loud_frames(best.audio, HOP_SAMPLES)
        spans = _word_frames(tokens, text, starts, chars)
        audio = best.audio[first * HOP_SAMPLES:last * HOP_SAMPLES]
        n = len(audio)
        words = [(word, min(n, max(0, (a - first) * HOP_SAMPLES)), min(n, max(0, (b - first) * HOP_SAMPLES)))
                 for word, a, b in spans]
        return [(audio, words)]


# --------------------------------------------------------------------------- helpers (pure)

def phonemes(text: str, frontend=None) -> list[str]:
    """phkit's `text2phoneme` without its two faults on Simplified text: its traditional-to-simplified
    step (hanziconv) turns Simplified characters into others (著名 -> 着名, read zhe; 呼吁 -> 唿吁,
    read xu), and a jieba word missing from its phrase list is read character by character (长江大桥
    -> zhang jiang). The script is Simplified already; such a word is split into the phrase list's
    longest words first (pypinyin's maximum matching), so 长江 is read as the phrase it is. The
    digit 一 before a decimal point keeps its first tone (一点五: yī, not the yì of 一点 "a little")."""
    if frontend is None:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            from phkit.chinese import sequence as frontend
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        text = frontend.normalize_english(frontend.convert_number(frontend.quan2ban(text)))
        pinyin = frontend.text2pinyin(_phrase_words(text), errors=lambda x: [(w,) for w in x])
        if len(pinyin) == len(text):
            pinyin = _digit_one(text, pinyin)
        return frontend.change_diao(frontend.pinyin2phoneme(pinyin))


def _phrase_words(text: str) -> list[str]:
    """`text` in jieba's words, each word missing from pypinyin's phrase list (which phkit has filled) cut
    into the list's longest words: the words phkit's pinyin reads as phrases."""
    import jieba
    from pypinyin.constants import PHRASES_DICT
    from pypinyin.seg.mmseg import seg as longest_words

    out: list[str] = []
    for word in jieba.lcut(text):
        if len(word) <= 2 or word in PHRASES_DICT:
            out.append(word)
        else:
            out.extend(longest_words.cut(word))
    return out


_NUMERALS = frozenset("零一二三四五六七八九十")


def _digit_one(text: str, pinyin: list) -> list:
    """一 read yi1 where it is a digit before a decimal point (一点五, 十一点二): phkit's phrase 一点 says yi4."""
    out = list(pinyin)
    for i, char in enumerate(text):
        if char == "一" and text[i + 1:i + 2] == "点" and text[i + 2:i + 3] in _NUMERALS:
            out[i] = "yi1"
    return out


def _text(tokens: Sequence[Token]) -> tuple[str, list[int]]:
    """The piece's spoken text and where each token starts in it (Latin words keep a space between)."""
    text, starts = "", []
    for token in tokens:
        if text and token.spoken[:1].isascii() and token.spoken[:1].isalnum() and text[-1:].isascii() \
                and text[-1:].isalnum():
            text += " "
        starts.append(len(text))
        text += token.spoken
    return text, starts


def _size(tokens: Sequence[Token]) -> int:
    return sum(len(t.spoken.replace(" ", "")) for t in tokens)


def _pieces(tokens: Sequence[Token]) -> list[list[Token]]:
    """Tokens in pieces of at most MAX_PIECE_CHARS characters, cut after punctuation where one is near."""
    pieces: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if current and _size(current) + _size([token]) > MAX_PIECE_CHARS:
            cut = max((i + 1 for i, t in enumerate(current) if t.spoken.endswith(_CLAUSE_END)), default=0)
            if _size(current[:cut]) < MAX_PIECE_CHARS // 3:  # no punctuation near: cut between words here
                cut = len(current)
            pieces.append(current[:cut])
            current = current[cut:]
        current.append(token)
    if current:
        pieces.append(current)
    return pieces


def _loud_frames(audio: np.ndarray, hop: int) -> tuple[int, int]:
    """First and end frame of the audible part (with a small margin), in decoder frames."""
    frames = len(audio) // hop
    if frames == 0:
        return 0, 0
    rms = np.sqrt(np.mean(audio[: frames * hop].reshape(frames, hop).astype(np.float64) ** 2, axis=1))
    db = 20 * np.log10(rms + 1e-9)
    loud = np.flatnonzero(db > db.max() + TRIM_FLOOR_DB)
    if loud.size == 0:
        return 0, frames
    return max(0, int(loud[0]) - TRIM_MARGIN_FRAMES[0]), min(frames, int(loud[-1]) + 1 + TRIM_MARGIN_FRAMES[1])


def _word_frames(tokens: Sequence[Token], text: str, starts: list[int],
                 chars: np.ndarray) -> list[tuple[str, int, int]]:
    """Each token with [first frame on its first sounding character, first frame past its last one).

    `chars` is, per decoder frame, the furthest character attended so far (monotonic). A token without a
    sounding character (punctuation only) is a point where it stands.
    """
    out = []
    frames = len(chars)
    for token, start in zip(tokens, starts, strict=True):
        sounding = [start + i for i, ch in enumerate(token.spoken) if ch not in _PUNCTUATION]
        if not sounding:
            at = int(np.searchsorted(chars, start, side="left"))
            out.append((token.written, at, at))
            continue
        a = int(np.searchsorted(chars, sounding[0], side="left"))
        b = int(np.searchsorted(chars, sounding[-1], side="right"))
        a, b = min(a, frames), min(max(a, b), frames)
        out.append((token.written, a, b))
    # Monotonic and non-overlapping: a word never starts before the previous one ends.
    for i in range(1, len(out)):
        word, a, b = out[i]
        prev_end = out[i - 1][2]
        if a < prev_end:
            out[i] = (word, prev_end, max(prev_end, b))
    return out
