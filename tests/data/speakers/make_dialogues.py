"""Build the two-voice dialogues the speaker-turn tests own, from the packaged voices.

English: the piper `en_US-joe-medium` voice (CC0) as the host, Kokoro `jf_alpha` (Apache-2.0) reading
English as the guest. Mandarin: Kokoro `jm_kumo` as the host, `jf_alpha` as the guest. Turns are joined
with pauses of 0.15-0.7 s, the guest 3 dB quieter than the host, over seeded noise at -54 dBFS.
Writes `<name>.ogg` (Opus, 32 kb/s, as compressed as broadcast contributions often are; the labels
come out the same as from the lossless mix) and `dialogues.json`: per dialogue its turns and the voices' own word
timings (piper: from its phoneme durations; Kokoro: spread over each sentence by phoneme count).

Run (about 3 minutes on one core): .venv/bin/python tests/data/speakers/make_dialogues.py
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from newsroom.config import Settings
from newsroom.tts import KokoroVoice, PiperVoice

HERE = Path(__file__).resolve().parent
RATE_HZ = 16_000
GUEST_GAIN = 10 ** (-3 / 20)
NOISE_RMS = 10 ** (-54 / 20)

DIALOGUES = {
    "en_dialogue": [
        ("host", "Good evening. Tonight I am joined by the head of the city's new cycling programme."),
        ("guest", "Thank you for having me. It is a pleasure to be here.", 0.5),
        ("host", "How many families have signed up for the school ride scheme so far?", 0.6),
        ("guest", "More than four hundred families joined in the first month, which is far more than we expected.", 0.4),
        ("host", "And what do the shop owners on the high street think about the new lanes?", 0.7),
        ("guest", "Some of them worry about parking, so we will review the plan after six months.", 0.15),
        ("host", "Thank you for joining us tonight.", 0.45),
    ],
    "zh_dialogue": [
        ("host", "各位观众晚上好，今天我们请到了市交通局的负责人。"),
        ("guest", "主持人好，各位观众好，很高兴来到这里。", 0.5),
        ("host", "新的自行车道什么时候可以开通？", 0.6),
        ("guest", "第一批自行车道将在明年春天开通，总长十二公里。", 0.4),
        ("host", "市民对这个计划有什么反应？", 0.7),
        ("guest", "大部分市民都很支持，也有商户担心停车的问题。", 0.15),
        ("host", "感谢您接受我们的采访。", 0.45),
    ],
}
VOICES = {"en_dialogue": ("joe", "jf_alpha"), "zh_dialogue": ("jm_kumo", "jf_alpha")}


def read(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert wav.getframerate() == RATE_HZ and wav.getnchannels() == 1
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float32) / 32768


def main() -> None:
    settings = Settings(tts_sample_rate_hz=RATE_HZ)
    voices = {"joe": PiperVoice.load(settings)}
    for name in ("jm_kumo", "jf_alpha"):
        voices[name] = KokoroVoice.load(settings, voice=name)
    truth = {}
    rng = np.random.default_rng(12)
    with tempfile.TemporaryDirectory() as tmp:
        for dialogue, turns in DIALOGUES.items():
            host, guest = VOICES[dialogue]
            parts, turn_rows, words = [], [], []
            t = 0.3
            parts.append(np.zeros(int(t * RATE_HZ), np.float32))
            for i, (role, text, *pause) in enumerate(turns):
                if pause:
                    parts.append(np.zeros(int(pause[0] * RATE_HZ), np.float32))
                    t += pause[0]
                voice = voices[host if role == "host" else guest]
                speech = voice.synthesize(text, Path(tmp) / f"{dialogue}-{i}.wav")
                audio = read(Path(tmp) / f"{dialogue}-{i}.wav") * (1.0 if role == "host" else GUEST_GAIN)
                parts.append(audio.astype(np.float32))
                speaker = "S1" if role == "host" else "S2"
                turn_rows.append({"speaker": speaker, "start": round(t, 3), "end": round(t + len(audio) / RATE_HZ, 3),
                                  "text": text})
                words += [{"word": w.word, "start": round(t + w.start_s, 3), "end": round(t + w.end_s, 3),
                           "speaker": speaker} for w in speech.words]
                t += len(audio) / RATE_HZ
            parts.append(np.zeros(int(0.5 * RATE_HZ), np.float32))
            mix = np.concatenate(parts)
            mix = mix + rng.normal(0, NOISE_RMS, len(mix)).astype(np.float32)
            pcm = np.clip(np.round(mix * 32767), -32767, 32767).astype("<i2")
            wav_path = Path(tmp) / f"{dialogue}.wav"
            with wave.open(str(wav_path), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(RATE_HZ)
                wav.writeframes(pcm.tobytes())
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav_path), "-c:a", "libopus", "-b:a", "32k",
                            "-map_metadata", "-1", "-fflags", "+bitexact", str(HERE / f"{dialogue}.ogg")], check=True)
            truth[dialogue] = {"duration_s": round(len(mix) / RATE_HZ, 3), "voices": [host, guest],
                               "turns": turn_rows, "words": words}
    (HERE / "dialogues.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
