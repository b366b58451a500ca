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
    presenter_renderer,
)
from newsroom.anchor.motion import SpeechEvents, blink_durations, brow_track, nod_track, speech_events
from newsroom.anchor.renderer import split_parts
from newsroom.anchor.visemes import (
    ANTICIPATION_S,
    ENERGY_SAMPLE_RATE_HZ,
    VISEMES,
    energy_track,
    read_mono,
    viseme_for,
)
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
    """MediaPipe Face Mesh (static mode: a fresh detection per frame) on every decoded frame.

    gap: inner-lip distance (13-14) / face height; eye: lid distance / face height; chin: eye line to
    chin (152) / inter-ocular distance; brow: brow (105, 334) above the upper lids / inter-ocular distance.
    """
    from mediapipe.python.solutions import face_mesh

    found, gaps, eyes, chins, brows, frames = [], [], [], [], [], []
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as mesh:
        for frame in read_frames(path, width=WIDTH, height=HEIGHT, fps=FPS):
            frames.append(frame)
            result = mesh.process(frame)
            found.append(bool(result.multi_face_landmarks))
            if not result.multi_face_landmarks:
                for values in (gaps, eyes, chins, brows):
                    values.append(np.nan)
                continue
            lm = np.array([(p.x * WIDTH, p.y * HEIGHT) for p in result.multi_face_landmarks[0].landmark])
            face_h = np.linalg.norm(lm[10] - lm[152])
            iod = np.linalg.norm(lm[33] - lm[263])
            gaps.append(np.linalg.norm(lm[13] - lm[14]) / face_h)
            eyes.append((np.linalg.norm(lm[159] - lm[145]) + np.linalg.norm(lm[386] - lm[374])) / 2 / face_h)
            chins.append(np.linalg.norm(lm[152] - (lm[33] + lm[263]) / 2) / iod)
            brows.append((np.linalg.norm(lm[105] - lm[159]) + np.linalg.norm(lm[334] - lm[386])) / 2 / iod)
    return {"found": np.array(found), "gap": np.array(gaps), "eye": np.array(eyes), "chin": np.array(chins),
            "brow": np.array(brows), "frames": np.stack(frames)}


def frame_showing(time_s: float, frames: int) -> int:
    """The frame whose mouth shows the sound at `time_s` (frames sample mid-frame, a little ahead)."""
    times = (np.arange(frames) + 0.5) / FPS + ANTICIPATION_S
    return int(np.argmin(np.abs(times - time_s)))


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Speech:
    return piper_speech(TEXT, tmp_path_factory.mktemp("anchor") / "speech.wav")


@pytest.fixture(scope="module")
def events(speech) -> SpeechEvents:
    return speech_events(speech.phonemes, read_mono(speech.path), ENERGY_SAMPLE_RATE_HZ, speech.duration_s)


@pytest.fixture(scope="module")
def seed(speech, events) -> int:
    """A seed whose first blink falls inside the clip, so the render shows one."""
    boundaries = events.phrase_starts + tuple(a for a, _ in events.pauses)
    return next(s for s in range(100)
                if any(0.6 < t < speech.duration_s - 0.4
                       for t in blink_times(speech.duration_s, FPS, seed=s, boundaries=boundaries)))


@pytest.fixture(scope="module")
def renderer(seed) -> LandmarkAnchorRenderer:
    pytest.importorskip("mediapipe")
    return LandmarkAnchorRenderer.load(seed=seed)


@pytest.fixture(scope="module")
def rendered(renderer, speech, tmp_path_factory):
    progress: list[float] = []
    video = renderer.render(speech, tmp_path_factory.mktemp("anchor-out") / "anchor.mp4", progress=progress.append)
    track, events = renderer.tracks(speech, video.frames)
    poses, _ = renderer.poses(track, speech.duration_s, events)
    return video, progress, measure(video.path), poses


# ------------------------------------------------------------------ the rendered clip


def test_render_is_720p25_with_audio_as_long_as_the_speech(rendered, speech):
    video, progress, _, _ = rendered
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
    video, _, measured, _ = rendered
    assert len(measured["found"]) == video.frames
    assert measured["found"].all(), f"no face on frames {np.flatnonzero(~measured['found']).tolist()}"


def test_measured_lip_gap_follows_the_mouth_track(rendered):
    video, _, measured, _ = rendered
    target = np.array(video.mouth_openness)
    assert target.max() > 0.4, "the mouth should open well on this sentence"
    r = np.corrcoef(measured["gap"], target)[0, 1]
    assert r >= 0.9, f"Pearson r between measured lip gap and mouth target is {r:.2f}"


def test_chin_follows_the_opening(rendered):
    video, _, measured, _ = rendered
    target, chin = np.array(video.mouth_openness), measured["chin"]
    r = np.corrcoef(chin, target)[0, 1]
    assert r >= 0.8, f"Pearson r between measured chin drop and mouth target is {r:.2f}"
    closed, wide = chin[target == 0].mean(), chin[target > 0.6].mean()
    assert wide - closed > 0.03, f"the chin drops only {wide - closed:.3f} inter-ocular distances"


def test_open_mouth_shows_teeth_and_a_graded_cavity(rendered, renderer):
    """On every well-open frame of the decoded video: upper teeth show, the inside is not a flat black slot."""
    from newsroom.anchor.quality import mouth_stats

    video, _, measured, poses = rendered
    open_frames = [i for i, pose in enumerate(poses) if pose.gap_px > 0.5 * renderer.rig.max_gap_px and pose.teeth > 0.35]
    assert len(open_frames) >= 5
    for i in open_frames:
        stats = mouth_stats(measured["frames"][i], renderer.rig.landmarks_for(poses[i]))
        where = f"frame {i} (gap {poses[i].gap_px:.1f}px): {stats}"
        assert stats.teeth_share >= 0.1, where
        assert stats.teeth_upper_share >= 0.7, where
        assert stats.dark_share < 0.3, where
        assert stats.lstar_std > 8, where
        assert stats.edge_to_centre > 5, where
    # A closed mouth shows no teeth (no painted interior at all).
    for i in [i for i, pose in enumerate(poses) if pose.gap_px == 0][:5]:
        assert mouth_stats(measured["frames"][i], renderer.rig.landmarks_for(poses[i])).pixels < 40


def test_background_never_moves(rendered, renderer):
    """Only the head is warped: the backdrop and shoulders are the same picture on every frame."""
    video, _, measured, _ = rendered
    frames = measured["frames"].astype(np.int16)
    x0, y0, x1, y1 = renderer.rig.head_box
    outside = np.ones(frames.shape[1:3], bool)
    outside[y0:y1, x0:x1] = False
    drift = np.abs(frames[:, outside] - frames[0][outside]).mean(axis=(1, 2))
    assert drift.max() < 1.0, f"the background changes by {drift.max():.2f} grey levels at frame {int(drift.argmax())}"


def test_mouth_is_closed_in_silence_and_on_bilabials(rendered, speech):
    video, _, measured, _ = rendered
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
    video, _, measured, _ = rendered
    closure, eye = np.array(video.eye_closure), measured["eye"]
    shut = np.flatnonzero(closure >= 0.99)
    assert len(shut) >= 1
    open_eye = np.median(eye[closure == 0])
    # MediaPipe reads a drawn closed lid as partly open (0.4-0.6 of open, varying with the frame's encoding):
    # a blink that did not render would read ~1.0.
    assert eye[shut].min() < 0.7 * open_eye, f"eye openness {eye[shut]} vs {open_eye:.3f} open"


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
    with pytest.raises(NewsroomError, match="not a JPEG, PNG or WebP image"):
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
    duration = 600.0
    times = blink_times(duration, FPS, seed=7)
    intervals = np.diff(times)
    rate = len(times) / duration * 60
    assert 12 <= rate <= 24, f"{rate:.1f} blinks a minute"
    cv = intervals.std() / intervals.mean()
    assert 0.45 <= cv <= 1.1, f"interval coefficient of variation {cv:.2f}: blinks should be irregular"
    doubles = np.mean(intervals < 0.5)
    assert 0.02 <= doubles <= 0.2, f"{doubles:.0%} double blinks"
    assert intervals.min() >= 0.3 - 1 / FPS
    assert times == blink_times(duration, FPS, seed=7) and times != blink_times(duration, FPS, seed=8)
    assert all(abs(t * FPS - round(t * FPS)) < 1e-9 for t in times)  # the deepest point is on a frame
    lengths = blink_durations(times, seed=7)
    assert min(lengths) >= 0.13 and max(lengths) <= 0.24 and np.std(lengths) > 0.01
    closure = blink_track(round(duration * FPS), FPS, times, lengths)
    assert np.isclose(closure, 1.0).sum() == len(times)
    shut_frames = (closure > 0.2).sum() / len(times)
    assert 2 <= shut_frames <= 6  # 130-240 ms at 25 fps
    # Blinks gather at phrase boundaries: with one every 4 s, chance would put 2% of blinks within a
    # frame of one.
    boundaries = tuple(np.arange(1.0, duration, 4.0))
    on_edges = blink_times(duration, FPS, seed=7, boundaries=boundaries)
    near = np.min(np.abs(np.array(on_edges)[:, None] - np.array(boundaries)[None]), axis=1) <= 1 / FPS
    assert near.mean() > 0.2, f"only {near.mean():.0%} of blinks on phrase boundaries"


def test_speech_events_drive_brows_and_nods(speech, events):
    """Phrase starts and stresses come from the read; brows rise and the head dips on some of them."""
    first_sound = min(p.start_s for p in speech.phonemes if p.phoneme not in ("^", "_", " ", "$"))
    assert events.phrase_starts and abs(events.phrase_starts[0] - first_sound) < 0.05
    assert len(events.stresses) >= 3  # "Mom bought a big apple pie." has several stressed words
    assert all(0 <= w <= 1 for _, w in events.stresses) and max(w for _, w in events.stresses) == 1.0
    frames = round(speech.duration_s * FPS)
    raises = [brow_track(frames, FPS, events, seed=s) for s in range(6)]
    assert max(r.max() for r in raises) > 0.6
    lead = int((PAD_S - 0.2) * FPS)
    assert all(r[:lead].max() == 0 for r in raises), "brows move in the silence before the read"
    nods = [nod_track(frames, FPS, events, seed=s) for s in range(6)]
    assert max(n.max() for n in nods) > 0.5 and all(n[:lead].max() == 0 for n in nods)
    assert all(np.abs(np.diff(n)).max() < 0.5 for n in nods)  # smooth: no jumps from frame to frame
    # Without phoneme timings, the voice's energy gives phrases and beats too.
    energy = speech_events((), read_mono(speech.path), ENERGY_SAMPLE_RATE_HZ, speech.duration_s)
    assert energy.phrase_starts and abs(energy.phrase_starts[0] - first_sound) < 0.15 and len(energy.stresses) >= 3


def test_head_motion_is_slight_smooth_and_seeded():
    pose = head_motion(250, FPS, seed=1)
    assert np.abs(pose.roll_deg).max() <= 1.2 and np.abs(pose.shift_x).max() <= 0.012
    assert np.abs(np.diff(pose.roll_deg)).max() < 0.1  # degrees per frame: no jitter
    assert np.abs(pose.roll_deg).max() > 0.2  # but it does move
    assert np.array_equal(pose.roll_deg, head_motion(250, FPS, seed=1).roll_deg)


# ------------------------------------------------------------------ the face rig, pose by pose


def _lip_areas(points: np.ndarray) -> tuple[float, float]:
    from newsroom.anchor.mesh import INNER_LOWER_LIP, INNER_UPPER_LIP, OUTER_LOWER_LIP, OUTER_UPPER_LIP

    def area(chain_a, chain_b):
        poly = np.concatenate([points[list(chain_a)], points[list(chain_b)][::-1]])
        x, y = poly[:, 0], poly[:, 1]
        return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))

    return area(OUTER_UPPER_LIP, INNER_UPPER_LIP), area(INNER_LOWER_LIP, OUTER_LOWER_LIP)


def test_lips_keep_their_volume_round_and_press(renderer):
    from newsroom.anchor.rig import RigPose

    rig = renderer.rig
    rest = rig.landmarks_for(RigPose())
    rest_upper, rest_lower = _lip_areas(rest)
    width = lambda lm: float(np.linalg.norm(lm[61] - lm[291]))  # noqa: E731
    for symbol in ("ɑ", "æ", "ɛ", "i", "o", "u", "s", "f", "l"):
        v = VISEMES[symbol]
        lm = rig.landmarks_for(RigPose(gap_px=v.open * rig.max_gap_px, spread=v.spread))
        upper, lower = _lip_areas(lm)
        assert 0.85 <= upper / rest_upper <= 1.2, f"{symbol}: upper lip area x{upper / rest_upper:.2f}"
        assert 0.85 <= lower / rest_lower <= 1.3, f"{symbol}: lower lip area x{lower / rest_lower:.2f}"
    rounded = rig.landmarks_for(RigPose(gap_px=VISEMES["u"].open * rig.max_gap_px, spread=-1.0))
    assert width(rounded) < 0.85 * width(rest), "rounded lips (u) should draw the corners in"
    pressed_upper, pressed_lower = _lip_areas(rig.landmarks_for(RigPose(press=1.0)))
    assert pressed_upper < 0.92 * rest_upper and pressed_lower < 0.92 * rest_lower, "pressed lips roll in"


def test_brows_rise_where_face_mesh_sees_them(renderer):
    from mediapipe.python.solutions import face_mesh

    from newsroom.anchor.rig import RigPose

    heights = []
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as mesh:
        for brow in (0.0, 1.0):
            frame = renderer.frame(RigPose(brow=brow))
            lm = np.array([(p.x * WIDTH, p.y * HEIGHT) for p in mesh.process(frame).multi_face_landmarks[0].landmark])
            heights.append((np.linalg.norm(lm[105] - lm[159]) + np.linalg.norm(lm[334] - lm[386])) / 2)
    assert heights[1] - heights[0] > 0.5 * 0.022 * renderer.rig.face_h, f"brow to lid {heights[0]:.1f} -> {heights[1]:.1f} px"


def test_closed_mouth_portrait_gets_teeth_from_its_eye_whites(renderer, tmp_path):
    """A portrait with closed lips has no teeth to copy: the painted teeth take the eye whites' colour."""
    from PIL import Image

    from newsroom.anchor.quality import mouth_stats
    from newsroom.anchor.rig import RigPose

    Image.fromarray(renderer.rig.rest).save(tmp_path / "closed.png")  # the astronaut with her lips closed
    closed = LandmarkAnchorRenderer.load(tmp_path / "closed.png")
    look = closed.rig.look
    assert look.teeth.mean() > look.lip.mean() + 20
    assert (look.teeth.max() - look.teeth.min()) / look.teeth.max() < 0.25  # near white, a little warm
    v = VISEMES["ɑ"]
    pose = RigPose(gap_px=v.open * closed.rig.max_gap_px, spread=v.spread, teeth=v.teeth, lower_teeth=v.lower)
    stats = mouth_stats(closed.frame(pose), closed.rig.landmarks_for(pose))
    assert stats.teeth_share >= 0.1 and stats.dark_share < 0.3, stats


# ------------------------------------------------------------------ reference-footage mode

PRESENTER_TEXT = ("Good evening. The city council approved a new budget today, with more money for buses and bike "
                  "lanes. Work on the first routes begins in the spring, officials said.")


def presenter_footage(renderer: LandmarkAnchorRenderer, text: str, folder: Path, *, seed: int) -> tuple[Path, Speech]:
    """'Footage of the presenter': our own renderer reading `text` (so every frame's viseme is known)."""
    speech = piper_speech(text, folder / "presenter.wav", pad_s=0.3)
    video = LandmarkAnchorRenderer(renderer.portrait, seed=seed).render(speech, folder / "presenter.mp4")
    return Path(video.path), speech


@pytest.fixture(scope="module")
def presenter(renderer, tmp_path_factory):
    return presenter_footage(renderer, PRESENTER_TEXT, tmp_path_factory.mktemp("presenter"), seed=11)


@pytest.fixture(scope="module")
def atlas(presenter):
    from newsroom.anchor.reference import MouthAtlas

    path, footage = presenter
    return MouthAtlas.build(path, phonemes=footage.phonemes, min_duration_s=5.0)


def test_mouth_atlas_measures_the_footage(presenter, atlas):
    path, footage = presenter
    frames = round(footage.duration_s * FPS)
    assert len(atlas) >= 0.95 * frames and atlas.labelled
    assert atlas.patches.dtype == np.uint8 and atlas.patches.shape[0] == len(atlas)
    truth = phoneme_track(footage.phonemes, frames, FPS)
    known = truth.open[atlas.frame_index]
    assert np.corrcoef(atlas.gap, known)[0, 1] >= 0.75  # Face Mesh's inner-lip points on the footage
    assert np.corrcoef(atlas.chin_drop, known)[0, 1] >= 0.9
    agree = np.mean([a == truth.groups[i] for a, i in zip(atlas.groups, atlas.frame_index, strict=True)])
    assert agree == 1.0  # labelled from the known phonemes
    # The base picture has the mouth closed.
    base_gap = np.linalg.norm(atlas.base_landmarks[13] - atlas.base_landmarks[14])
    assert base_gap / np.linalg.norm(atlas.base_landmarks[33] - atlas.base_landmarks[263]) < 0.01


def test_mouth_atlas_round_trips_and_refuses_short_footage(presenter, atlas, tmp_path):
    from newsroom.anchor.reference import MouthAtlas

    again = MouthAtlas.load(atlas.save(tmp_path / "atlas.npz"))
    assert np.array_equal(again.patches, atlas.patches) and again.groups == atlas.groups
    assert np.allclose(again.chin_drop, atlas.chin_drop)
    with pytest.raises(NewsroomError, match="give at least 30 s of the presenter speaking"):
        MouthAtlas.build(presenter[0])
    (tmp_path / "junk.npz").write_bytes(b"not an atlas")
    with pytest.raises(NewsroomError, match="not a mouth atlas"):
        MouthAtlas.load(tmp_path / "junk.npz")


def test_an_atlas_declaring_huge_arrays_is_refused_before_it_is_read(tmp_path):
    """An .npz is a zip: a few bytes can declare a 30 GB array. The headers are checked, nothing allocated."""
    import zipfile

    from numpy.lib import format as npy

    from newsroom.anchor.reference import MouthAtlas

    bomb = tmp_path / "presenter.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("patches.npy", "w") as member:
        npy.write_array_header_1_0(member, {"descr": "|u1", "fortran_order": False,
                                            "shape": (100_000, 320, 320, 3)})
        member.write(b"\0" * 4096)
    assert bomb.stat().st_size < 10_000
    with pytest.raises(NewsroomError, match=r"not a mouth atlas \(its arrays declare 28.6 GB"):
        MouthAtlas.load(bomb)


@pytest.mark.parametrize("base", ["reference frame", "still"])
def test_reference_mode_speaks_with_the_presenters_mouth(atlas, speech, base, tmp_path):
    """A new read from the presenter's own mouth samples: face found, lip gap follows the read, no seam."""
    import cv2

    from newsroom.anchor.portrait import default_portrait
    from newsroom.anchor.reference import ReferenceAnchorRenderer, ReferenceShot

    if base == "still":
        renderer = ReferenceAnchorRenderer.load(atlas, default_portrait(), seed=3)
    else:  # as a flow's portrait_key gives it: a saved atlas file, mapped to this renderer by its type
        renderer = presenter_renderer(atlas.save(tmp_path / "presenter.npz"), seed=3)
        assert isinstance(renderer, ReferenceAnchorRenderer)
    video = renderer.render(speech, tmp_path / "reference.mp4")
    assert video.renderer == "reference" and video.frames == round(speech.duration_s * FPS)
    measured = measure(video.path)
    assert measured["found"].all(), f"no face on frames {np.flatnonzero(~measured['found']).tolist()}"
    track, _ = renderer.tracks(speech, video.frames)
    r = np.corrcoef(measured["gap"], track.open)[0, 1]
    assert r >= 0.8, f"Pearson r between measured lip gap and the read's mouth target is {r:.2f}"
    assert np.corrcoef(measured["chin"], track.open)[0, 1] >= 0.7
    silent = [i for i in range(video.frames) if (i + 1) / FPS < PAD_S - 0.1]
    assert measured["gap"][silent].max() < 0.25 * np.nanpercentile(measured["gap"], 90)
    # The seam: just inside the blend's outer edge the presenter's skin meets the base's, colour-matched.
    track, events = renderer.tracks(speech, video.frames)
    poses, _ = renderer.poses(track, speech.duration_s, events)
    shots, _ = renderer.shots(track, poses)
    for i in range(0, video.frames, 15):
        shot: ReferenceShot = shots[i]
        out = renderer.frame(shot)
        under = renderer.rig.render(shot.pose, paint=False)
        lips = renderer.rig.landmarks_for(shot.pose)
        mask = np.zeros(out.shape[:2], np.uint8)
        from newsroom.anchor.mesh import OUTER_LOWER_LIP, OUTER_UPPER_LIP

        outline = np.concatenate([lips[list(OUTER_UPPER_LIP)], lips[list(OUTER_LOWER_LIP)][::-1]])
        cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
        width = np.linalg.norm(lips[61] - lips[291])
        distance = cv2.distanceTransform(1 - mask, cv2.DIST_L2, 3)
        ring = (distance > 0.12 * width) & (distance < 0.22 * width)
        lab_out = cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[ring].astype(float)
        lab_under = cv2.cvtColor(under, cv2.COLOR_RGB2LAB)[ring].astype(float)
        delta = np.abs(lab_out.mean(axis=0) - lab_under.mean(axis=0))
        assert delta.max() < 4, f"frame {i}: the blended mouth differs from the face around it by {delta} (Lab)"


LONG_PRESENTER_TEXT = (
    "Good evening, and welcome to the news. The city council met this morning to approve a new budget. "
    "It puts more money into buses, bike lanes and the repair of old bridges. Officials say the first projects "
    "will start in the spring. Some residents worry about the cost, while others say the changes are long overdue. "
    "In sport, the local football club won its third match in a row on Saturday. And the weather: expect rain "
    "tomorrow morning, clearing by the afternoon, with sunshine through the weekend. That is all for tonight. "
    "Thank you for watching, and good night.")


@pytest.mark.slow
def test_reference_mode_from_30_s_of_footage_and_its_whisper_transcript(renderer, speech, tmp_path):
    """The full path: 30 s of reframed, graded, grainy footage; labels from the footage's own Whisper
    transcript (no known phonemes); the new read on a reference frame."""
    import subprocess

    from newsroom.anchor.reference import MouthAtlas, ReferenceAnchorRenderer, transcribe_reference

    raw, footage = presenter_footage(renderer, LONG_PRESENTER_TEXT, tmp_path, seed=5)
    assert footage.duration_s >= 30
    graded = tmp_path / "graded.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-vf",
                    "crop=1120:630:100:40,scale=1280:720,eq=saturation=1.08:gamma=0.96,noise=alls=5:allf=t",
                    "-c:v", "libx264", "-crf", "18", "-c:a", "copy", str(graded)], check=True)
    transcript = transcribe_reference(graded, "en")
    assert transcript is not None and len(transcript.text.split()) >= 60
    atlas = MouthAtlas.build(graded, transcript=transcript)
    frames = round(footage.duration_s * FPS)
    truth = phoneme_track(footage.phonemes, frames, FPS).groups
    agree = np.mean([g == truth[i] for g, i in zip(atlas.groups, atlas.frame_index, strict=True)])
    assert agree >= 0.35, f"transcript-derived visemes agree with the known ones on {agree:.0%} of frames"
    video = ReferenceAnchorRenderer.load(atlas, seed=3).render(speech, tmp_path / "reference.mp4")
    measured = measure(video.path)
    assert measured["found"].all()
    track, _ = renderer.tracks(speech, video.frames)
    r = np.corrcoef(measured["gap"], track.open)[0, 1]
    assert r >= 0.85, f"Pearson r between measured lip gap and the read's mouth target is {r:.2f}"
