"""The digital anchor: real piper speech, the real NASA portrait, MediaPipe Face Mesh as the judge.

One ~2.6 s render (0.5 s of silence either side of "Mom bought a big apple pie.") is decoded frame by
frame and every frame is measured with MediaPipe Face Mesh: the face must be found, the inner-lip gap
must follow the renderer's mouth track, and closures (silence, m/b/p) must read as closed.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from newsroom.anchor import (
    AnchorRenderer,
    LandmarkAnchorRenderer,
    blink_times,
    blink_track,
    head_motion,
    load_renderer,
    phoneme_track,
)
from newsroom.anchor.renderer import split_parts
from newsroom.anchor.visemes import ANTICIPATION_S, VISEMES, energy_track, viseme_for
from newsroom.errors import ConfigError, NewsroomError
from newsroom.media import probe
from newsroom.media.frames import read_frames
from newsroom.types import PhonemeTiming, Speech

# MediaPipe 0.10.21 calls a protobuf API that newer protobuf deprecates; nothing we can change.
pytestmark = pytest.mark.filterwarnings("ignore:label\\(\\) is deprecated:DeprecationWarning")

FPS = 25.0
WIDTH, HEIGHT = 1280, 720
PAD_S = 0.5
TEXT = "Mom bought a big apple pie."


def piper_speech(text: str, path: Path, pad_s: float = PAD_S) -> Speech:
    """Real piper speech with per-phoneme timings, padded with silence so lead-in/out can be checked."""
    piper = pytest.importorskip("piper")
    from newsroom.models import ModelRegistry

    voice = piper.PiperVoice.load(ModelRegistry().resolve("piper-joe-en"), include_alignments=True)
    rate = voice.config.sample_rate
    pad = np.zeros(int(pad_s * rate), np.int16)
    chunks, phonemes, cursor = [pad], [], len(pad)
    config = piper.SynthesisConfig(normalize_audio=False, volume=0.9)
    for chunk in voice.synthesize(text, syn_config=config, include_alignments=True):
        assert chunk.phoneme_alignments, "piper gave no alignments: is the onnx package installed?"
        for a in chunk.phoneme_alignments:
            phonemes.append(PhonemeTiming(a.phoneme, cursor / rate, (cursor + a.num_samples) / rate))
            cursor += a.num_samples
        chunks.append(chunk.audio_int16_array)
    chunks.append(pad)
    audio = np.concatenate(chunks)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(audio.tobytes())
    return Speech(str(path), rate, len(audio) / rate, "en", "piper", text, tuple(phonemes))


def measure(path: str) -> dict[str, np.ndarray]:
    """MediaPipe Face Mesh (static mode: a fresh detection per frame) on every decoded frame."""
    from mediapipe.python.solutions import face_mesh

    found, gaps, eyes = [], [], []
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as mesh:
        for frame in read_frames(path, width=WIDTH, height=HEIGHT, fps=FPS):
            result = mesh.process(frame)
            found.append(bool(result.multi_face_landmarks))
            if not result.multi_face_landmarks:
                gaps.append(np.nan)
                eyes.append(np.nan)
                continue
            lm = np.array([(p.x * WIDTH, p.y * HEIGHT) for p in result.multi_face_landmarks[0].landmark])
            face_h = np.linalg.norm(lm[10] - lm[152])
            gaps.append(np.linalg.norm(lm[13] - lm[14]) / face_h)
            eyes.append((np.linalg.norm(lm[159] - lm[145]) + np.linalg.norm(lm[386] - lm[374])) / 2 / face_h)
    return {"found": np.array(found), "gap": np.array(gaps), "eye": np.array(eyes)}


def frame_showing(time_s: float, frames: int) -> int:
    """The frame whose mouth shows the sound at `time_s` (frames sample mid-frame, a little ahead)."""
    times = (np.arange(frames) + 0.5) / FPS + ANTICIPATION_S
    return int(np.argmin(np.abs(times - time_s)))


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Speech:
    return piper_speech(TEXT, tmp_path_factory.mktemp("anchor") / "speech.wav")


@pytest.fixture(scope="module")
def seed(speech) -> int:
    """A seed whose first blink falls inside the clip, so the render shows one."""
    return next(s for s in range(100)
                if any(0.6 < t < speech.duration_s - 0.4 for t in blink_times(speech.duration_s, FPS, seed=s)))


@pytest.fixture(scope="module")
def renderer(seed) -> LandmarkAnchorRenderer:
    pytest.importorskip("mediapipe")
    return LandmarkAnchorRenderer.load(seed=seed)


@pytest.fixture(scope="module")
def rendered(renderer, speech, tmp_path_factory):
    progress: list[float] = []
    video = renderer.render(speech, tmp_path_factory.mktemp("anchor-out") / "anchor.mp4", progress=progress.append)
    return video, progress, measure(video.path)


# ------------------------------------------------------------------ the rendered clip


def test_render_is_720p25_with_audio_as_long_as_the_speech(rendered, speech):
    video, progress, _ = rendered
    info = probe(video.path)
    assert info.video is not None and info.audio is not None
    assert (info.video.width, info.video.height) == (WIDTH, HEIGHT)
    assert info.video.codec == "h264" and info.video.pix_fmt == "yuv420p"
    assert info.video.fps == pytest.approx(FPS) and info.video.avg_fps == pytest.approx(FPS)
    assert info.audio.codec == "aac"
    assert abs(info.duration_s - speech.duration_s) <= 1 / FPS
    assert abs(info.video.duration_s - speech.duration_s) <= 1 / FPS
    assert video.frames == round(speech.duration_s * FPS) == len(video.mouth_openness) == len(video.eye_closure)
    assert video.size == (WIDTH, HEIGHT) and video.fps == FPS and video.face_found
    assert video.mouth_source == "phonemes"
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) > 5


def test_parts_rendered_in_processes_join_into_the_same_video(renderer, tmp_path):
    assert split_parts(40, 4) == [(0, 40)]  # too short to be worth a process
    assert split_parts(301, 2) == [(0, 150), (150, 301)] and split_parts(1000, 3)[-1] == (667, 1000)
    speech = piper_speech("The council approved the budget today. Work on the new bus routes begins in spring.",
                          tmp_path / "long.wav")
    frames = round(speech.duration_s * FPS)
    assert len(split_parts(frames, 2)) == 2
    renderer.workers = 1
    one = renderer.render(speech, tmp_path / "one.mp4")
    renderer.workers = 2
    try:
        progress: list[float] = []
        two = renderer.render(speech, tmp_path / "two.mp4", progress=progress.append)
    finally:
        renderer.workers = 1
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert probe(two.path).video.duration_s == pytest.approx(probe(one.path).video.duration_s, abs=1e-3)
    a = np.stack(list(read_frames(one.path, width=320, height=180, fps=FPS))).astype(int)
    b = np.stack(list(read_frames(two.path, width=320, height=180, fps=FPS))).astype(int)
    assert len(a) == len(b) == frames
    diff = np.abs(a - b).mean(axis=(1, 2, 3))
    assert diff.max() < 1.0, f"frames differ most at {int(diff.argmax())} of {frames} (part boundary {frames // 2})"


def test_face_mesh_finds_the_face_on_every_frame(rendered):
    video, _, measured = rendered
    assert len(measured["found"]) == video.frames
    assert measured["found"].all(), f"no face on frames {np.flatnonzero(~measured['found']).tolist()}"


def test_measured_lip_gap_follows_the_mouth_track(rendered):
    video, _, measured = rendered
    target = np.array(video.mouth_openness)
    assert target.max() > 0.4, "the mouth should open well on this sentence"
    r = np.corrcoef(measured["gap"], target)[0, 1]
    assert r >= 0.8, f"Pearson r between measured lip gap and mouth target is {r:.2f}"


def test_mouth_is_closed_in_silence_and_on_bilabials(rendered, speech):
    video, _, measured = rendered
    gap, target = measured["gap"], np.array(video.mouth_openness)
    open_level = np.percentile(gap, 90)
    assert open_level > 0.03
    speech_start = min(p.start_s for p in speech.phonemes if p.phoneme not in ("^", "_", " "))
    lead = [i for i in range(video.frames) if (i + 1) / FPS < PAD_S - 0.1]
    tail = [i for i in range(video.frames) if i / FPS > speech.duration_s - PAD_S + 0.15]
    assert lead and tail and speech_start >= PAD_S
    for i in lead + tail:
        assert target[i] == 0.0
        assert gap[i] < 0.25 * open_level, f"frame {i} in silence measures gap {gap[i]:.3f}"
    bilabials = [p for p in speech.phonemes if p.phoneme in ("b", "p", "m")]
    assert len(bilabials) >= 4
    for p in bilabials:
        i = frame_showing((p.start_s + p.end_s) / 2, video.frames)
        assert target[i] < 0.05, f"{p.phoneme} at {p.start_s:.2f}s: target {target[i]:.2f}"
        assert gap[i] < 0.25 * open_level, f"{p.phoneme} at {p.start_s:.2f}s measures gap {gap[i]:.3f}"


def test_eyes_blink(rendered):
    video, _, measured = rendered
    closure, eye = np.array(video.eye_closure), measured["eye"]
    shut = np.flatnonzero(closure >= 0.99)
    assert len(shut) >= 1
    open_eye = np.median(eye[closure == 0])
    assert eye[shut].max() < 0.6 * open_eye, f"eye openness {eye[shut]} vs {open_eye:.3f} open"


def test_energy_fallback_without_phoneme_timings(renderer, speech, tmp_path):
    from dataclasses import replace

    mandarin_like = replace(speech, phonemes=(), engine="kokoro")
    video = renderer.render(mandarin_like, tmp_path / "energy.mp4")
    assert video.mouth_source == "energy"
    target = np.array(video.mouth_openness)
    measured = measure(video.path)
    assert measured["found"].all()
    talking = [i for i in range(video.frames) if PAD_S + 0.1 < i / FPS < speech.duration_s - PAD_S - 0.2]
    silent = [i for i in range(video.frames) if (i + 1) / FPS < PAD_S - 0.1 or i / FPS > speech.duration_s - PAD_S + 0.15]
    assert np.mean(target[talking] > 0.2) > 0.5
    assert (target[silent] == 0).all()
    gap = measured["gap"]
    assert gap[talking].max() > 0.03
    assert gap[silent].max() < 0.25 * gap[talking].max()
    assert np.corrcoef(gap, target)[0, 1] >= 0.7


# ------------------------------------------------------------------ errors and plumbing


def test_portrait_without_a_face_is_refused(tmp_path):
    pytest.importorskip("mediapipe")
    from PIL import Image

    gradient = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    Image.fromarray(np.dstack([gradient, gradient[::-1], np.full_like(gradient, 90)])).save(tmp_path / "gradient.png")
    with pytest.raises(NewsroomError, match="no face found in .*gradient.png: use a front-facing photo"):
        LandmarkAnchorRenderer.load(tmp_path / "gradient.png")
    with pytest.raises(NewsroomError, match="does not exist"):
        LandmarkAnchorRenderer.load(tmp_path / "missing.jpg")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(NewsroomError, match="not a (readable|JPEG, PNG or WebP) image"):
        LandmarkAnchorRenderer.load(tmp_path / "text.png")


def test_renderer_interface_and_registry(renderer):
    assert isinstance(renderer, AnchorRenderer)
    with pytest.raises(ConfigError, match="unknown anchor renderer"):
        load_renderer("wav2lip")


def test_render_refuses_missing_audio(renderer, tmp_path):
    speech = Speech(str(tmp_path / "nope.wav"), 22050, 1.0, "en", "piper", "x")
    with pytest.raises(NewsroomError, match="does not exist"):
        renderer.render(speech, tmp_path / "x.mp4")


# ------------------------------------------------------------------ mouth shapes, blinks, head motion


def test_viseme_table_shapes():
    for closed in "mbp":
        assert VISEMES[closed].open == 0 and VISEMES[closed].closure
    assert VISEMES["ɑ"].open > VISEMES["ɛ"].open > VISEMES["i"].open > VISEMES["f"].open
    assert VISEMES["i"].spread > 0.5 and VISEMES["u"].spread < -0.5 and VISEMES["o"].spread < -0.5
    assert VISEMES["f"].teeth == 1.0 and VISEMES["v"].teeth == 1.0
    assert viseme_for("ˈa") == VISEMES["a"] and viseme_for("ɑː") == VISEMES["ɑ"]
    assert viseme_for("ˈ") is None and viseme_for(" ") is None
    assert viseme_for("$").closure and viseme_for(",").closure and viseme_for("_").closure


def test_phoneme_track_opens_on_vowels_and_closes_on_bilabials():
    # "a mama" with a leading pause: ^ ə m ˈ a m a $
    symbols = [("^", 0.0, 0.3), ("ə", 0.3, 0.4), ("m", 0.4, 0.46), ("ˈ", 0.46, 0.5), ("a", 0.5, 0.66),
               ("m", 0.66, 0.7), ("a", 0.7, 0.9), ("$", 0.9, 1.2)]
    track = phoneme_track([PhonemeTiming(p, a, b) for p, a, b in symbols], 30, FPS)
    assert track.frames == 30
    assert track.open[frame_showing(0.1, 30)] == 0.0
    assert track.open[frame_showing(0.58, 30)] > 0.6
    assert track.open[frame_showing(0.8, 30)] > 0.6
    assert track.open[frame_showing(0.68, 30)] < 0.05  # a 40 ms /m/: still one closed frame
    assert track.open[frame_showing(1.15, 30)] == 0.0
    # A short word gap is not a pause; a long one is.
    gap = [("a", 0.0, 0.2), (" ", 0.2, 0.25), ("a", 0.25, 0.45), (" ", 0.45, 0.8), ("a", 0.8, 1.0)]
    track = phoneme_track([PhonemeTiming(p, a, b) for p, a, b in gap], 25, FPS)
    assert track.open[frame_showing(0.225, 25)] > 0.6
    assert track.open[frame_showing(0.625, 25)] == 0.0
    # "_" is silence whatever its length (newsroom.tts labels pauses so).
    pause = [("a", 0.0, 0.3), ("_", 0.3, 0.4), ("a", 0.4, 0.7)]
    track = phoneme_track([PhonemeTiming(p, a, b) for p, a, b in pause], 18, FPS)
    assert track.open[frame_showing(0.35, 18)] < 0.05


def test_energy_track_gates_silence():
    rate = 16_000
    t = np.arange(rate * 2) / rate
    voice = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 4 * t)) / 2
    samples = np.where((t > 0.5) & (t < 1.5), voice, 0.0) + 1e-4 * np.random.default_rng(0).standard_normal(len(t))
    track = energy_track(samples.astype(np.float32), rate, 50, FPS)
    assert (track.open[:10] == 0).all() and (track.open[-10:] == 0).all()
    assert track.open[15:35].max() > 0.5
    # Syllable-rate modulation shows up as opening and closing.
    assert track.open[15:35].min() < 0.5 * track.open[15:35].max()


def test_blink_schedule_is_natural_and_seeded():
    times = blink_times(120.0, FPS, seed=7)
    intervals = np.diff(times)
    assert len(times) >= 120 / 6 - 1
    assert intervals.min() >= 2.0 - 1 / FPS and intervals.max() <= 6.0 + 1 / FPS
    assert times == blink_times(120.0, FPS, seed=7) and times != blink_times(120.0, FPS, seed=8)
    assert all(abs(t * FPS - round(t * FPS)) < 1e-9 for t in times)  # the deepest point is on a frame
    closure = blink_track(round(120 * FPS), FPS, times)
    assert np.isclose(closure, 1.0).sum() == len(times)
    shut_frames = (closure > 0.2).sum() / len(times)
    assert 2 <= shut_frames <= 5  # ~150 ms at 25 fps


def test_head_motion_is_slight_smooth_and_seeded():
    pose = head_motion(250, FPS, seed=1)
    assert np.abs(pose.roll_deg).max() <= 1.2 and np.abs(pose.shift_x).max() <= 0.012
    assert np.abs(np.diff(pose.roll_deg)).max() < 0.1  # degrees per frame: no jitter
    assert np.abs(pose.roll_deg).max() > 0.2  # but it does move
    assert np.array_equal(pose.roll_deg, head_motion(250, FPS, seed=1).roll_deg)
