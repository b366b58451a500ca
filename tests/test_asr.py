"""Real transcription with the packaged Whisper weights on real speech (shared fixtures)."""

from __future__ import annotations

import re

import jiwer
import numpy as np
import pytest

from newsroom.asr import Transcriber, read_wav, to_simplified
from newsroom.asr.confidence import low_confidence
from newsroom.asr.glossary import Glossary
from newsroom.config import Settings
from newsroom.errors import ConfigError
from newsroom.media import extract_audio
from tests.conftest import SHARED_FIXTURES

# Measured here (see README "Speech-to-text"): base WER 5.4% English, CER 2.2% Mandarin; tiny.en WER 8.7%.
MAX_WER_BASE = 0.10
MAX_WER_TINY = 0.15
MAX_CER_ZH = 0.08
# What base emits without the Simplified steering (Traditional script), measured on the zh fixture.
TRADITIONAL_OUTPUT = "各位觀眾晚上好歡迎收看今天的新聞市政府今天宣佈將在明年增加公共交通投資興建三條地鐵線路專家表示這項計畫有助於減少交通擁堵"
TRADITIONAL_ONLY = {c for c in TRADITIONAL_OUTPUT if to_simplified(c) != c}

_WORDS = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(),
                        jiwer.Strip(), jiwer.ReduceToListOfListOfWords()])


def wer(reference: str, hypothesis: str) -> float:
    # Numbers and spelling: "twelve"/"12", "signalled"/"signaled" count as errors; thresholds allow it.
    return jiwer.wer(reference, hypothesis, reference_transform=_WORDS, hypothesis_transform=_WORDS)


def cer_zh(reference: str, hypothesis: str) -> float:
    strip = lambda s: re.sub(r"[^\w]", "", s)  # noqa: E731
    return jiwer.cer(strip(reference), strip(hypothesis))


@pytest.fixture(scope="session")
def base():
    return Transcriber.load("base", Settings())


@pytest.fixture(scope="session")
def tiny():
    return Transcriber.load("tiny.en", Settings())


@pytest.fixture(scope="session")
def en_wav(tmp_path_factory):
    return extract_audio(SHARED_FIXTURES / "en_espeak.wav", tmp_path_factory.mktemp("asr") / "en.wav")


@pytest.fixture(scope="session")
def zh_wav(tmp_path_factory):
    return extract_audio(SHARED_FIXTURES / "zh_neural.wav", tmp_path_factory.mktemp("asr") / "zh.wav")


def assert_timestamps_sane(transcript):
    previous_end = 0.0
    for segment in transcript.segments:
        assert segment.words, "every segment carries word timestamps"
        assert segment.start <= segment.end
        for word in segment.words:
            assert word.start >= previous_end - 0.02, f"word {word} starts before the previous one ended"
            assert word.start <= word.end <= transcript.duration_s + 0.05
            assert 0.0 <= word.probability <= 1.0
            assert word.word == word.word.strip() and word.word
            previous_end = word.end


def test_english_base(base, en_wav):
    reference = (SHARED_FIXTURES / "en_espeak.txt").read_text()
    progress = []
    transcript = base.transcribe(en_wav, "auto", progress=progress.append)
    assert transcript.language == "en"
    assert transcript.model == "whisper-base-int8"
    assert transcript.duration_s == pytest.approx(53.8, abs=0.1)
    assert wer(reference, transcript.text) <= MAX_WER_BASE
    assert_timestamps_sane(transcript)
    assert progress[-1] == 1.0 and progress == sorted(progress)
    data = transcript.to_dict()  # the published JSON contract
    assert set(data) == {"language", "duration_s", "model", "text", "segments"}
    assert set(data["segments"][0]) == {"start", "end", "text", "speaker", "words"}
    assert set(data["segments"][0]["words"][0]) == {"start", "end", "word", "probability", "speaker"}
    assert transcript.speakers == ("S1",)  # one (espeak) voice: speaker turns on by default


def test_mandarin_comes_out_simplified(base, zh_wav):
    reference = (SHARED_FIXTURES / "zh_neural.txt").read_text().strip()
    transcript = base.transcribe(zh_wav, "auto")
    assert transcript.language == "zh"
    assert cer_zh(reference, transcript.text) <= MAX_CER_ZH
    assert len(TRADITIONAL_ONLY) > 15
    assert not TRADITIONAL_ONLY & set(transcript.text)
    assert to_simplified(transcript.text) == transcript.text
    assert " " not in transcript.text
    assert_timestamps_sane(transcript)
    assert transcript.speakers == ("S1",)


def test_forced_language_and_tiny_en(tiny, en_wav):
    reference = (SHARED_FIXTURES / "en_espeak.txt").read_text()
    transcript = tiny.transcribe(en_wav, "en")
    assert transcript.model == "whisper-tiny.en-int8"
    assert wer(reference, transcript.text) <= MAX_WER_TINY
    with pytest.raises(ConfigError, match="cannot transcribe 'zh'"):
        tiny.transcribe(en_wav, "zh")


def test_silence_and_noise_give_empty_transcripts(base, media_dir):
    silence = base.transcribe(media_dir / "silence.wav", "auto")
    assert silence.is_empty and silence.text == "" and silence.duration_s == pytest.approx(4.0)
    noise = np.random.default_rng(7).normal(0, 0.01, 16000 * 6).astype(np.float32)
    assert base.transcribe(noise, "en").segments == ()


def test_read_wav_refuses_the_wrong_format(media_dir):
    from newsroom.errors import MediaError

    with pytest.raises(MediaError, match="16 kHz mono"):
        read_wav(media_dir / "tone.wav")  # 44.1 kHz


# Two sentences per language from bench/glossary.py (which reads 12 and reports the figures), read by the
# packaged voices: names Whisper base writes wrong without the glossary.
GLOSSARY_SET = {
    "en": [("Inspector Tomasz Przybylski led the investigation in Wexcombe.", ["Tomasz Przybylski", "Wexcombe"]),
           ("The ferry from Glenarrow to Inishcarra was cancelled because of high winds.", ["Glenarrow", "Inishcarra"])],
    "zh": [("瓯江水务集团宣布，明年将在温州新建两座水厂。", ["瓯江水务集团"]),
           ("崇左市的甘蔗种植户与桂糖集团签订了收购协议。", ["崇左市", "桂糖集团"])],
}


def _written_right(text: str, names: list[str]) -> int:
    squash = lambda s: re.sub(r"[\W_]+", "", s.casefold())  # noqa: E731
    return sum(squash(name) in squash(text) for name in names)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_glossary_gets_names_written_right(base, tmp_path, language):
    from newsroom.tts import load_voice

    voice = load_voice(language, Settings(tts_sample_rate_hz=16_000))
    names = [name for _, found in GLOSSARY_SET[language] for name in found]
    glossary = Glossary.parse(["Marlowe Coastal Alliance", "詹晓彤", *names])  # other desks' terms too
    without = with_glossary = 0
    flagged = []
    for i, (sentence, found) in enumerate(GLOSSARY_SET[language]):
        speech = voice.synthesize(sentence, tmp_path / f"{i}.wav")
        plain = base.transcribe(speech.path, language)
        steered = base.transcribe(speech.path, language, glossary=glossary)
        without += _written_right(plain.text, found)
        with_glossary += _written_right(steered.text, found)
        flagged += low_confidence(plain)
        assert not re.search("Marlowe|詹晓彤", steered.text)  # the glossary is not read back as speech
        assert_timestamps_sane(steered)
    assert without <= 1 < len(names) - 1 <= with_glossary, (without, with_glossary)
    assert flagged and all(f.describe().startswith("possible mis-hearing: ") for f in flagged)
