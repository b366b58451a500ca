"""Speaker-turn benchmark: word-label accuracy and CPU cost on mixes of the packaged voices.

Reads six sentences with each of four voices (piper joe in English; Kokoro jm_kumo, jf_alpha and
jf_nezumi in Mandarin; cached under --cache, ~4 minutes the first time), lays them out as conversations
(turns in rotation, pauses of 0.15-0.7 s, levels within 4 dB, light noise) and labels the voices' own
word timings with `Diarizer`; with --whisper, also the two test dialogues through Whisper base's words.
Accuracy counts words whose speaker matches the truth under the best one-to-one naming.

Run: .venv/bin/python bench/speakers.py [--cache DIR] [--distance 0.30] [--step 0.4] [--whisper]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from newsroom.asr import DiarizeOptions, Diarizer, Transcriber, read_wav
from newsroom.config import Settings
from newsroom.media import extract_audio
from newsroom.types import Segment, Transcript, Word

REPO = Path(__file__).resolve().parents[1]
RATE_HZ = 16_000
EN = ["Good evening, and welcome to the program.",
      "Tonight we are talking about the new bicycle lanes in the city centre.",
      "How many families have signed up for the school ride scheme so far?",
      "And what do the shop owners on the high street think about it?",
      "Thank you for joining us tonight.",
      "The council will vote on the second phase next month."]
ZH = ["各位观众晚上好，欢迎收看今天的节目。",
      "今天我们请到了市交通局的负责人。",
      "新的自行车道什么时候可以开通？",
      "市民对这个计划有什么反应？",
      "我们明年还会增加三条公交线路。",
      "感谢您接受我们的采访。"]
VOICES = ("joe", "jm_kumo", "jf_alpha", "jf_nezumi")
MIXES = {
    "joe + jm_kumo": (["joe", "jm_kumo"], 10),
    "joe + jm_kumo + jf_alpha": (["joe", "jm_kumo", "jf_alpha"], 12),
    "jm_kumo + jf_alpha + jf_nezumi": (["jm_kumo", "jf_alpha", "jf_nezumi"], 12),
    "jf_alpha + jf_nezumi (closest pair)": (["jf_alpha", "jf_nezumi"], 10),
    "joe alone": (["joe"], 6),
    "jf_nezumi alone": (["jf_nezumi"], 6),
}


def sentences(cache: Path) -> dict[str, list[tuple[np.ndarray, list[tuple[float, float]]]]]:
    """Per voice: six (audio, word spans) read by that voice, synthesised once into `cache`."""
    from newsroom.tts import KokoroVoice, PiperVoice

    cache.mkdir(parents=True, exist_ok=True)
    settings = Settings(tts_sample_rate_hz=RATE_HZ)
    out = {}
    for voice_name in VOICES:
        clips = []
        voice = None
        for i, text in enumerate(EN if voice_name == "joe" else ZH):
            wav, spans = cache / f"{voice_name}_{i}.wav", cache / f"{voice_name}_{i}.json"
            if not (wav.exists() and spans.exists()):
                if voice is None:
                    voice = PiperVoice.load(settings) if voice_name == "joe" else KokoroVoice.load(settings, voice=voice_name)
                speech = voice.synthesize(text, wav)
                spans.write_text(json.dumps([(w.start_s, w.end_s) for w in speech.words]))
            clips.append((read_wav(wav), [tuple(x) for x in json.loads(spans.read_text())]))
        out[voice_name] = clips
    return out


def mix(voices: list[str], turns: int, clips, rng) -> tuple[Transcript, np.ndarray, list[str]]:
    parts, words, truth, t = [np.zeros(int(0.3 * RATE_HZ), np.float32)], [], [], 0.3
    for k in range(turns):
        name = voices[k % len(voices)]
        audio, spans = clips[name][(k // len(voices)) % len(clips[name])]
        if k:
            pause = rng.uniform(0.15, 0.7)
            parts.append(np.zeros(int(pause * RATE_HZ), np.float32))
            t += pause
        parts.append(audio * rng.uniform(0.63, 1.0))
        words += [Word(t + a, t + b, "w", 1.0) for a, b in spans]
        truth += [name] * len(spans)
        t += len(audio) / RATE_HZ
    audio = np.concatenate(parts)
    audio = audio + rng.normal(0, 0.002, len(audio)).astype(np.float32)
    transcript = Transcript("en", len(audio) / RATE_HZ, "tts", (Segment(words[0].start, words[-1].end, "w", tuple(words)),))
    return transcript, audio, truth


def accuracy(predicted: list[str], truth: list[str]) -> float:
    """Share of words right under the best one-to-one mapping of predicted names to true voices."""
    names, voices = sorted(set(predicted)), sorted(set(truth))
    best = 0
    for image in itertools.permutations(voices + [None] * max(0, len(names) - len(voices)), len(names)):
        mapping = dict(zip(names, image, strict=True))
        best = max(best, sum(mapping[p] == t for p, t in zip(predicted, truth, strict=True)))
    return best / len(truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "newsroom-bench-speakers")
    parser.add_argument("--distance", type=float, default=DiarizeOptions().distance_cut)
    parser.add_argument("--step", type=float, default=DiarizeOptions().step_s)
    parser.add_argument("--whisper", action="store_true", help="also the test dialogues through Whisper base")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    diarizer = Diarizer.load(settings, DiarizeOptions(step_s=args.step, distance_cut=args.distance))
    clips = sentences(args.cache)
    rng = np.random.default_rng(0)
    print(f"distance cut {args.distance}, window step {args.step} s")
    print(f"{'case':46s} {'audio s':>7s} {'words right':>11s} {'speakers':>8s} {'CPU-s/audio-s':>13s}")
    for case, (voices, turns) in MIXES.items():
        transcript, audio, truth = mix(voices, turns, clips, rng)
        started = time.process_time()
        labelled = diarizer.label(transcript, audio)
        cpu = time.process_time() - started
        predicted = [w.speaker for s in labelled.segments for w in s.words]
        print(f"{case:46s} {transcript.duration_s:7.1f} {accuracy(predicted, truth):11.1%} "
              f"{len(labelled.speakers):5d}/{len(voices)} {cpu / transcript.duration_s:13.4f}")
    if args.whisper:
        data = REPO / "tests" / "data" / "speakers"
        dialogues = json.loads((data / "dialogues.json").read_text("utf-8"))
        engine = Transcriber.load("base", settings, diarize=False)
        with tempfile.TemporaryDirectory() as tmp:
            for name, truth in dialogues.items():
                wav = extract_audio(data / f"{name}.ogg", Path(tmp) / f"{name}.wav")
                audio = read_wav(wav)
                transcript = engine.transcribe(audio, name[:2])
                started = time.process_time()
                labelled = diarizer.label(transcript, audio)
                cpu = time.process_time() - started
                words = [w for s in labelled.segments for w in s.words]

                def who(t_s: float, turns=truth["turns"]) -> str:
                    return min(turns, key=lambda u: 0 if u["start"] <= t_s <= u["end"]
                               else min(abs(t_s - u["start"]), abs(t_s - u["end"])))["speaker"]

                right = accuracy([w.speaker for w in words], [who((w.start + w.end) / 2) for w in words])
                print(f"{name + ' (Whisper base words)':46s} {transcript.duration_s:7.1f} {right:11.1%} "
                      f"{len(labelled.speakers):5d}/2 {cpu / transcript.duration_s:13.4f}")


if __name__ == "__main__":
    main()
