"""Speaker turns on real two-voice audio made with the packaged voices (tests/data/speakers/).

The voice encoder runs in numpy from resemblyzer's packaged weights; torch is not installed here, so its
parity with torch is checked against embeddings torch computed once (torch_reference.npz), and the
rest through invariants (unit norm, one voice close, two voices apart) and labelled dialogues.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from newsroom.asr import DiarizeOptions, Diarizer, Transcriber, read_wav, speaker_turns
from newsroom.asr.voice_encoder import (
    WINDOW_FRAMES,
    VoiceEncoder,
    load_torch_legacy,
    mel_frames,
    normalize_volume,
)
from newsroom.config import Settings
from newsroom.errors import ModelIntegrityError, ModelNotInstalledError
from newsroom.media import extract_audio
from newsroom.models import MODELS, ModelRegistry
from newsroom.types import Segment, Transcript, Word
from tests.conftest import REPO, SHARED_FIXTURES

DATA = REPO / "tests" / "data" / "speakers"
TRUTH = json.loads((DATA / "dialogues.json").read_text("utf-8"))
MIN_WORD_ACCURACY = 0.95  # measured 1.00 on both dialogues (TTS word timings and Whisper's)


@pytest.fixture(scope="module")
def encoder():
    return VoiceEncoder.load(Settings())


@pytest.fixture(scope="module")
def diarizer(encoder):
    return Diarizer(encoder)


@pytest.fixture(scope="module")
def dialogue_wav(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speakers")
    return {name: extract_audio(DATA / f"{name}.ogg", folder / f"{name}.wav") for name in TRUTH}


def truth_transcript(name: str) -> Transcript:
    """The dialogue's words with the voices' own timings, no speakers: one segment per turn."""
    truth = TRUTH[name]
    segments = []
    for turn in truth["turns"]:
        words = tuple(Word(w["start"], w["end"], w["word"], 1.0) for w in truth["words"]
                      if turn["start"] - 0.01 <= w["start"] and w["end"] <= turn["end"] + 0.01)
        segments.append(Segment(words[0].start, words[-1].end, turn["text"], words))
    return Transcript(name[:2], truth["duration_s"], "tts", tuple(segments))


def truth_speaker(name: str, t_s: float) -> str:
    """Who speaks at `t_s` (in a pause: the nearest turn)."""
    turns = TRUTH[name]["turns"]
    return min(turns, key=lambda t: 0 if t["start"] <= t_s <= t["end"] else min(abs(t_s - t["start"]), abs(t_s - t["end"])))["speaker"]


def word_accuracy(name: str, transcript: Transcript) -> float:
    words = [w for s in transcript.segments for w in s.words]
    return sum(w.speaker == truth_speaker(name, (w.start + w.end) / 2) for w in words) / len(words)


# --------------------------------------------------------------------------- the encoder


def test_weights_are_registered_and_load_without_torch():
    spec = MODELS["resemblyzer-voice-encoder"]
    assert spec.packages == ("resemblyzer",) and spec.size_bytes == 17_090_379
    assert spec.files[0].sha256 == "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
    code = ("import sys; from newsroom.asr.voice_encoder import VoiceEncoder; VoiceEncoder.load(); "
            "assert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules), 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.parametrize("fixture", ["en", "zh"])
def test_numpy_forward_matches_torch(encoder, fixture):
    """Embeddings torch 2.13 + librosa 0.11 computed once with resemblyzer itself, on the shared fixtures."""
    reference = np.load(DATA / "torch_reference.npz")
    audio = read_wav(SHARED_FIXTURES / ("en_espeak.wav" if fixture == "en" else "zh_neural.wav"))
    embeddings = encoder.embed(mel_frames(normalize_volume(audio)), reference[f"{fixture}_starts"])
    cosine = np.sum(embeddings * reference[f"{fixture}_embeddings"], axis=1)
    assert cosine.min() >= 0.99999
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert embeddings.min() >= 0.0  # ReLU before the norm


def test_one_voice_is_close_and_two_voices_are_apart(encoder, dialogue_wav):
    audio = read_wav(dialogue_wav["en_dialogue"])
    by_speaker: dict[str, list[np.ndarray]] = {"S1": [], "S2": []}
    for turn in TRUTH["en_dialogue"]["turns"]:
        piece = audio[int(turn["start"] * 16000):int(turn["end"] * 16000)]
        frames = mel_frames(normalize_volume(piece))
        by_speaker[turn["speaker"]].append(encoder.embed(frames, range(0, len(frames) - WINDOW_FRAMES, 40)))
    host, guest = (np.concatenate(by_speaker[s]) for s in ("S1", "S2"))
    same = np.mean(host @ host.T), np.mean(guest @ guest.T)
    different = np.mean(host @ guest.T)
    assert min(same) > 0.75  # measured 0.80 (Kokoro reading English) and 0.84 (piper joe)
    assert different < 0.6, different
    assert min(same) - different > 0.25


def test_weights_loader_refuses_code(tmp_path):
    """A weights file is rebuilt as tensors only: any other class (here os.system) is refused, not run."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(b"".join(pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001,
                                                                      {"little_endian": True}, Payload())))
    with pytest.raises(ModelIntegrityError, match="posix.system|os.system|never needs"):
        load_torch_legacy(evil)
    assert not marker.exists()
    not_legacy = tmp_path / "zip.pt"
    not_legacy.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(ModelIntegrityError, match="zip-format"):
        load_torch_legacy(not_legacy)


def test_truncated_weights_are_refused(tmp_path):
    weights = ModelRegistry(Settings()).resolve("resemblyzer-voice-encoder").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ModelIntegrityError, match="cut short|does not match"):
        load_torch_legacy(cut)


def test_missing_package_says_how_to_install(monkeypatch, tmp_path):
    spec = MODELS["resemblyzer-voice-encoder"]
    missing = replace(spec.files[0], parts=(("resemblyzer_not_installed", "pretrained.pt"),))
    monkeypatch.setitem(MODELS, spec.id, replace(spec, files=(missing,)))
    with pytest.raises(ModelNotInstalledError, match=r"--no-deps resemblyzer==0\.1\.4.*NEWSROOM_DIARIZE=false"):
        Diarizer.load(Settings(model_cache=tmp_path))


# --------------------------------------------------------------------------- turns


@pytest.mark.parametrize("name", ["en_dialogue", "zh_dialogue"])
def test_dialogue_words_get_their_speaker(diarizer, dialogue_wav, name):
    labelled = diarizer.label(truth_transcript(name), read_wav(dialogue_wav[name]))
    assert labelled.speakers == ("S1", "S2")  # the host speaks first
    assert word_accuracy(name, labelled) >= MIN_WORD_ACCURACY
    for segment in labelled.segments:
        assert {w.speaker for w in segment.words} == {segment.speaker}
    turns = speaker_turns(labelled)
    assert [t.speaker for t in turns] == [t["speaker"] for t in TRUTH[name]["turns"]]


def test_single_voice_is_one_speaker(diarizer, dialogue_wav):
    """The guest's turns alone (one voice, three sentences with pauses between them) -> S1 only."""
    audio = read_wav(dialogue_wav["zh_dialogue"])
    transcript = truth_transcript("zh_dialogue")
    guest = tuple(s for s, t in zip(transcript.segments, TRUTH["zh_dialogue"]["turns"], strict=True)
                  if t["speaker"] == "S2")
    labelled = diarizer.label(replace(transcript, segments=guest), audio)
    assert labelled.speakers == ("S1",)
    assert all(w.speaker == "S1" for s in labelled.segments for w in s.words)


def test_a_turn_change_inside_a_segment_splits_it(diarizer, dialogue_wav):
    """Whisper may run two speakers into one segment: the labels split it, each part keeping its text."""
    transcript = truth_transcript("en_dialogue")
    first, second, *rest = transcript.segments
    merged = Segment(first.start, second.end, f"{first.text} {second.text}", first.words + second.words)
    labelled = diarizer.label(replace(transcript, segments=(merged, *rest)), read_wav(dialogue_wav["en_dialogue"]))
    assert [s.text for s in labelled.segments[:2]] == [first.text, second.text]
    assert [s.speaker for s in labelled.segments[:2]] == ["S1", "S2"]
    assert labelled.text == transcript.text


def test_long_recordings_cluster_a_sample(encoder, dialogue_wav):
    """Past max_cluster_windows, a spread sample is clustered and every window joins its nearest speaker."""
    sampled = Diarizer(encoder, DiarizeOptions(max_cluster_windows=24))  # the dialogue has ~70 windows
    labelled = sampled.label(truth_transcript("en_dialogue"), read_wav(dialogue_wav["en_dialogue"]))
    assert labelled.speakers == ("S1", "S2")
    assert word_accuracy("en_dialogue", labelled) >= MIN_WORD_ACCURACY


def test_too_little_speech_is_one_speaker(diarizer):
    audio = np.zeros(16000 * 3, np.float32)
    words = (Word(1.0, 1.3, "Yes.", 0.9),)
    labelled = diarizer.label(Transcript("en", 3.0, "x", (Segment(1.0, 1.3, "Yes.", words),)), audio)
    assert labelled.segments[0].speaker == "S1" and labelled.segments[0].words[0].speaker == "S1"
    empty = Transcript("en", 3.0, "x")
    assert diarizer.label(empty, audio) == empty


# --------------------------------------------------------------------------- the contract and the wiring


def test_contract_carries_speakers_and_reads_old_transcripts():
    old = {"language": "en", "duration_s": 2.0, "model": "whisper-base-int8", "text": "Good evening.",
           "segments": [{"start": 0.0, "end": 1.0, "text": "Good evening.",
                         "words": [{"start": 0.0, "end": 0.4, "word": "Good", "probability": 0.98},
                                   {"start": 0.5, "end": 1.0, "word": "evening.", "probability": 0.9}]}]}
    transcript = Transcript.from_dict(old)
    assert transcript.speakers == () and transcript.segments[0].speaker is None
    assert transcript.to_dict() == old  # without speaker turns the JSON is exactly what it was

    words = (Word(0.0, 0.4, "Hello.", 0.9, "S1"), Word(1.0, 1.4, "Hi.", 0.9, "S2"))
    two = Transcript("en", 2.0, "m", (Segment(0.0, 0.4, "Hello.", words[:1], "S1"),
                                       Segment(1.0, 1.4, "Hi.", words[1:], "S2")))
    data = json.loads(two.to_json())
    assert [s["speaker"] for s in data["segments"]] == ["S1", "S2"]
    assert data["segments"][1]["words"][0]["speaker"] == "S2"
    assert Transcript.from_dict(data) == two
    assert two.to_text() == "[00:00.00] S1: Hello.\n[00:01.00] S2: Hi.\n"
    one = Transcript("en", 2.0, "m", (Segment(0.0, 0.4, "Hello.", words[:1], "S1"),))
    assert one.to_text() == "[00:00.00] Hello.\n"  # one voice: no labels to read past


@pytest.fixture(scope="module")
def base():
    return Transcriber.load("base", Settings(diarize=True))


def test_transcriber_labels_a_dialogue(base, dialogue_wav):
    """Whisper's own words and times, labelled inside `transcribe` (what `newsroom transcribe` and ingest run)."""
    transcript = base.transcribe(dialogue_wav["en_dialogue"], "en")
    assert transcript.speakers == ("S1", "S2")
    assert word_accuracy("en_dialogue", transcript) >= MIN_WORD_ACCURACY
    data = transcript.to_dict()
    assert all("speaker" in s and all("speaker" in w for w in s["words"]) for s in data["segments"])
    assert Transcript.from_dict(data) == Transcript.from_dict(json.loads(transcript.to_json()))


def test_diarize_off_leaves_no_speaker(dialogue_wav):
    engine = Transcriber.load("tiny.en", Settings(diarize=False))
    assert engine.diarizer is None
    audio = read_wav(dialogue_wav["en_dialogue"])[: 16000 * 5]
    transcript = engine.transcribe(audio, "en")
    assert transcript.segments and transcript.speakers == ()
    assert "speaker" not in transcript.to_json()

