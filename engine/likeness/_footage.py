"""Footage mode: the family's own video clips, with the greeting's voice laid over as narration.

Real footage beats any animated photo, but only when it shows the person well: a face in view,
a steady camera, looking toward the lens, ideally smiling. A clip in which the person is
visibly talking is not used under a narration: their lips would move to other words, and this
engine does not fake lip-sync on real footage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import numpy as np

from engine._errors import IngestError
from engine._ingest import open_media
from engine._models import LikenessMode
from engine._video import upright_frames
from engine.likeness._faces import Face, detect_faces

# The person talks in it (their lips would move to other words), the face is out of view too
# often, the camera shakes or pans, or the clip is too short to show.
ClipProblem = Literal["speaking", "face_not_in_view", "unsteady", "too_short"]

_SAMPLES_PER_S = 4.0
_MAX_SECONDS = 60.0
_MIN_FACE_SHARE = 0.8  # of sampled frames showing exactly one face
_MIN_STEADINESS = 0.5
_MAX_YAW = 0.3  # nose offset from the eyes' midpoint, in eye distances: beyond, not facing us
_SPEAKING_SPREAD = 0.012  # std of the lip gap in face heights: a still mouth ~0.005, talking 0.02+
_MIN_SEGMENT_S = 2.0


@dataclass(frozen=True)
class ClipAssessment:
    """What the engine measured on one clip, and whether narration may be laid over it."""

    path: Path
    duration_s: float
    face_share: float
    steadiness: float  # 1 = face still in the frame; falls with shake and pans
    facing: float  # share of face frames looking toward the camera
    smiling: float  # share of face frames with a smile
    speaking: bool
    best_start_s: float  # start of the steadiest, best-facing stretch
    size: tuple[int, int]  # upright width and height
    face_centre: tuple[float, float]  # where the face usually is, as shares of width and height

    @property
    def problem(self) -> ClipProblem | None:
        """Why narration may not be laid over this clip, the first reason that applies."""
        if self.speaking:
            return "speaking"
        if self.face_share < _MIN_FACE_SHARE:
            return "face_not_in_view"
        if self.steadiness < _MIN_STEADINESS:
            return "unsteady"
        if self.duration_s < _MIN_SEGMENT_S:
            return "too_short"
        return None

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def score(self) -> float:
        return self.face_share * self.steadiness * (0.6 + 0.25 * self.facing + 0.15 * self.smiling)


@dataclass(frozen=True)
class Segment:
    """Play ``path`` from ``start_s`` to ``end_s`` at ``at_s`` on the narration's clock."""

    path: Path
    start_s: float
    end_s: float
    at_s: float


@dataclass(frozen=True)
class _Sample:
    time_s: float
    face: Face | None
    faces: int


def assess_clip(path: Path) -> ClipAssessment:
    """Decode ~4 frames a second (at most the first minute) and measure them."""
    samples, duration, size = _sample_frames(path)
    single = [s for s in samples if s.faces == 1 and s.face is not None]
    faces = [s.face for s in single if s.face is not None]
    share = len(single) / len(samples) if samples else 0.0
    return ClipAssessment(
        path=path,
        duration_s=duration,
        face_share=share,
        steadiness=_steadiness(faces),
        facing=float(np.mean([_facing(f) for f in faces])) if faces else 0.0,
        smiling=float(np.mean([_smiling(f) for f in faces])) if faces else 0.0,
        speaking=_speaking(faces),
        best_start_s=_best_start(samples, duration),
        size=size,
        face_centre=_face_centre(faces, size),
    )


def choose_mode(
    portrait_usable: bool, clips: Sequence[ClipAssessment], force: LikenessMode | None = None
) -> LikenessMode:
    """Footage when a clip is usable, else the talking portrait; an order may force either.

    Forcing a mode the material cannot support is the sender's problem to fix, so it raises
    the ingest error the bot turns into advice rather than quietly doing the other thing.
    """
    has_footage = any(clip.usable for clip in clips)
    if force == "footage" and not has_footage:
        raise IngestError("no_usable_footage", "no clip shows the face steadily without talking")
    if force == "portrait" and not portrait_usable:
        raise IngestError("no_face", "no face found in the photo")
    if force is not None:
        return force
    if has_footage:
        return "footage"
    if portrait_usable:
        return "portrait"
    raise IngestError("no_face", "neither the photo nor any clip shows the face usably")


def plan_footage(clips: Sequence[ClipAssessment], duration_s: float) -> tuple[Segment, ...]:
    """Cover the narration with the best usable clips, each from its best stretch on.

    Clips are used best first; the last one is cut to fit. A clip shorter than what remains
    is used whole and the next one follows, so several short clips make one reel.
    """
    usable = sorted((c for c in clips if c.usable), key=lambda c: -c.score)
    if not usable:
        return ()
    segments: list[Segment] = []
    clock = 0.0
    while clock < duration_s - 1e-6:
        progressed = False
        for clip in usable:
            remaining = duration_s - clock
            start = clip.best_start_s if clip.duration_s - clip.best_start_s >= min(
                remaining, _MIN_SEGMENT_S
            ) else 0.0  # fmt: skip
            length = min(clip.duration_s - start, remaining)
            if length <= 0:
                continue
            segments.append(Segment(clip.path, start, start + length, clock))
            clock += length
            progressed = True
            if clock >= duration_s - 1e-6:
                break
        if not progressed:
            break
    return tuple(segments)


def _sample_frames(path: Path) -> tuple[list[_Sample], float, tuple[int, int]]:
    """Upright frames, as the viewer sees them: a phone's sideways clip shows no face otherwise."""
    samples: list[_Sample] = []
    next_time = 0.0
    last_time = 0.0
    size = (0, 0)
    try:
        with open_media(path) as container:
            if not container.streams.video:
                raise IngestError("no_video", f"{path.name}: no video stream")
            for time_s, pixels in upright_frames(path, container, fps=None):
                last_time = float(time_s)
                if last_time > _MAX_SECONDS:
                    break
                if last_time + 1e-6 < next_time:
                    continue
                next_time = last_time + 1 / _SAMPLES_PER_S
                size = (pixels.shape[1], pixels.shape[0])
                faces = detect_faces(pixels)
                samples.append(_Sample(last_time, faces[0] if faces else None, len(faces)))
    except av.FFmpegError as exc:
        raise IngestError("unreadable_video", f"{path.name}: cannot decode video") from exc
    return samples, last_time + 1 / _SAMPLES_PER_S if samples else 0.0, size


def _face_centre(faces: Sequence[Face], size: tuple[int, int]) -> tuple[float, float]:
    if not faces or not all(size):
        return 0.5, 0.5
    x = float(np.median([0.5 * (f.box[0] + f.box[2]) for f in faces])) / size[0]
    y = float(np.median([0.5 * (f.box[1] + f.box[3]) for f in faces])) / size[1]
    return x, y


def _eye_distance(face: Face) -> float:
    left = face.landmarks[36:42].mean(axis=0)
    right = face.landmarks[42:48].mean(axis=0)
    return float(np.linalg.norm(right - left))


def _face_height(face: Face) -> float:
    return float(face.landmarks[8, 1] - face.landmarks[17:27, 1].min())


def _facing(face: Face) -> float:
    middle = 0.5 * (face.landmarks[36:42].mean(axis=0) + face.landmarks[42:48].mean(axis=0))
    yaw = abs(float(face.landmarks[30, 0] - middle[0])) / max(_eye_distance(face), 1.0)
    return 1.0 if yaw <= _MAX_YAW else 0.0


def _smiling(face: Face) -> float:
    """Mouth corners above the lips' centre line, relative to the eye distance."""
    points = face.landmarks
    corners = 0.5 * (points[48, 1] + points[54, 1])
    centre = 0.5 * (points[62, 1] + points[66, 1])
    lift = (centre - corners) / max(_eye_distance(face), 1.0)
    return 1.0 if lift > 0.04 else 0.0


def _lip_gap(face: Face) -> float:
    return float(face.landmarks[66, 1] - face.landmarks[62, 1]) / max(_face_height(face), 1.0)


def _speaking(faces: Sequence[Face]) -> bool:
    gaps = [_lip_gap(face) for face in faces]
    return len(gaps) >= 3 and float(np.std(gaps)) > _SPEAKING_SPREAD


def _steadiness(faces: Sequence[Face]) -> float:
    """From how far the face jumps between samples, in face widths: shake and pans both count."""
    if len(faces) < 2:
        return 0.0
    centres = np.array([[0.5 * (f.box[0] + f.box[2]), 0.5 * (f.box[1] + f.box[3])] for f in faces])
    widths = np.array([f.width for f in faces])
    jumps = np.linalg.norm(np.diff(centres, axis=0), axis=1) / widths[1:]
    return math.exp(-float(np.median(jumps)) / 0.05)


def _best_start(samples: Sequence[_Sample], duration: float) -> float:
    """The earliest sample from which the face stays in view and facing us the longest."""
    best_start, best_run, run_start, run = 0.0, 0, 0.0, 0
    for sample in samples:
        if sample.faces == 1 and sample.face is not None and _facing(sample.face):
            if run == 0:
                run_start = sample.time_s
            run += 1
            if run > best_run:
                best_start, best_run = run_start, run
        else:
            run = 0
    return best_start if best_start < duration else 0.0
