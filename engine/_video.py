"""Uploaded videos: probed with PyAV, normalised, and searched for portrait frames and clips.

Phones store video sideways with a rotation tag, at variable frame rates, sometimes in full
range or HDR. ``upright_frames`` hides all of that: upright RGB frames at a constant rate, with
the range and matrix the stream declares converted by swscale.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from engine._errors import IngestError
from engine._faces import find_faces, subjects
from engine._ingest import (
    MAX_PORTRAIT_PIXELS,
    MAX_PORTRAIT_SIDE,
    check_deadline,
    decode_deadline,
    length_by_packets,
    open_media,
)
from engine._models import ClipInfo, VideoInfo

MIN_VIDEO_S = 1.0
MAX_VIDEO_S = 120.0
SAMPLE_EVERY_S = 0.5  # faces are looked for twice a second
_TRUNCATED_SHARE = 0.9  # decoding fewer seconds than this share of the declared length
_VFR_SPREAD = 0.1  # frame-interval spread (std / mean) above which the rate counts as variable
_STEADY_DIFFERENCE = 12.0  # mean grey-level change between samples, 0-255, on a 64x36 thumbnail
_MIN_CLIP_S = 1.0
_BEST_FRAMES = 3
_HDR_TRANSFERS = frozenset({16, 18})  # SMPTE ST 2084 (PQ) and ARIB STD-B67 (HLG)
# Containers phones and messengers send video in. FFmpeg also "plays" a JPEG or a GIF as a
# one-frame video; behind a .mp4 name that is the wrong type, not a video.
_VIDEO_CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"})

Rgb = npt.NDArray[np.uint8]


def check_video(path: Path) -> VideoInfo:
    """Probe, check and analyse a video upload; raises IngestError saying why it is unusable."""
    try:
        with open_media(path) as container:
            if container.format.name not in _VIDEO_CONTAINERS or not container.streams.video:
                raise IngestError("not_a_video", f"{path.name}: {container.format.name}, no video")
            stream = container.streams.video[0]
            declared = _declared_seconds(container, stream)
            width, height = stream.codec_context.width, stream.codec_context.height
            _check_size(path, width, height)  # the header's word: a cheap early refusal
            if declared > MAX_VIDEO_S:
                raise _too_long(path, declared)
            has_audio = bool(container.streams.audio)
            # Read while the file is open: PyAV 18.1.1 refuses a closed container's streams.
            codec, frame_rate = stream.codec_context.name, float(stream.average_rate or 0)
            scan = _scan(path, container, stream)
    except av.FFmpegError as exc:
        if _looks_like_mp4(path):
            # An MP4 whose index (moov, written last by most phones) never arrived.
            raise IngestError("truncated", f"{path.name}: MP4 without its index") from exc
        raise IngestError("not_a_video", f"{path.name}: not a readable video") from exc
    decoded = scan.last_time
    if declared and decoded < _TRUNCATED_SHARE * declared:
        raise IngestError(
            "truncated", f"{path.name}: only {decoded:.1f} of {declared:.1f} s decode",
            seconds=round(decoded, 1), declared=round(declared, 1),
        )  # fmt: skip
    if decoded < MIN_VIDEO_S:
        raise IngestError("too_short", f"{path.name}: {decoded:.1f} s of video is too short",
                          seconds=round(decoded, 1), minimum=MIN_VIDEO_S)  # fmt: skip
    with_face = [s for s in scan.samples if s.faces]
    if not with_face:
        raise IngestError("no_face", f"{path.name}: no face in any frame", width=width,
                          height=height)  # fmt: skip
    single = [s for s in with_face if s.faces == 1]
    if not single:
        raise IngestError("several_faces", f"{path.name}: several faces throughout",
                          count=max(s.faces for s in with_face))  # fmt: skip
    best = sorted(single, key=lambda s: s.score, reverse=True)[:_BEST_FRAMES]
    rotation = scan.rotation
    upright = (height, width) if rotation % 180 else (width, height)
    return VideoInfo(
        width=upright[0],
        height=upright[1],
        duration_s=round(decoded, 2),
        codec=codec,
        frame_rate=round(frame_rate, 3),
        rotation=rotation,
        variable_frame_rate=scan.variable,
        hdr=scan.hdr,
        full_range=scan.full_range,
        has_audio=has_audio,
        best_frames_s=tuple(round(s.time, 2) for s in best),
        clips=_clips(scan.samples),
    )


def video_frame(path: Path, seconds: float) -> Image.Image:
    """The upright frame showing at ``seconds``: a picked portrait frame, ready for ``render``."""
    with open_media(path) as container:
        for time_s, frame in upright_frames(path, container, fps=None):
            if time_s >= seconds - 1e-3:
                return Image.fromarray(frame)
    raise IngestError("truncated", f"{path.name}: no frame at {seconds:.2f} s",
                      seconds=0.0, declared=round(seconds, 2))  # fmt: skip


def normalised_frames(path: Path, fps: float = 25.0) -> Iterator[tuple[float, Rgb]]:
    """(time, upright RGB frame) at a constant ``fps``: a usable clip, ready to compose.

    A render reads clips that passed ``check_video``: the size and length limits still hold
    here, but not the analysis's wall time, which a busy render would exceed."""
    with open_media(path) as container:
        yield from upright_frames(path, container, fps, timed=False)


def upright_frames(
    path: Path,
    container: av.container.InputContainer,
    fps: float | None,
    timed: bool = True,
) -> Iterator[tuple[float, Rgb]]:
    """(time, upright RGB frame) from the first video stream; at a constant ``fps`` when given,
    repeating or dropping frames as the source rate wanders, else every decoded frame."""
    step = None if fps is None else 1.0 / fps
    next_time = 0.0
    for frame in checked_frames(path, container, timed):
        picture = _upright(frame)
        if step is None:
            yield frame.time, picture
            continue
        while next_time <= frame.time + 1e-6:
            yield next_time, picture
            next_time += step


def checked_frames(
    path: Path, container: av.container.InputContainer, timed: bool = True
) -> Iterator[av.VideoFrame]:
    """Every timed frame of the first video stream, each checked as it is decoded: the limits
    on pixels and length hold whatever the header said (a stream may change size mid-way,
    a Matroska file may declare no duration), and decoding stops at the first one broken.
    Every decoder of uploaded video reads its frames here."""
    deadline = decode_deadline() if timed else None
    for frame in container.decode(video=0):
        _check_size(path, frame.width, frame.height)
        if deadline is not None:
            check_deadline(path, deadline)
        if frame.time is None:
            continue
        if frame.time > MAX_VIDEO_S:
            raise _too_long(
                path, length_by_packets(container, container.streams.video[0], frame.time, deadline)
            )
        yield frame


def _check_size(path: Path, width: int, height: int) -> None:
    if max(width, height) > MAX_PORTRAIT_SIDE or width * height > MAX_PORTRAIT_PIXELS:
        raise IngestError(
            "too_large_dimensions", f"{path.name}: {width}x{height}",
            width=width, height=height, maximum=MAX_PORTRAIT_SIDE,
        )  # fmt: skip


def _too_long(path: Path, seconds: float) -> IngestError:
    return IngestError("too_long", f"{path.name}: longer than {MAX_VIDEO_S:.0f} s",
                       seconds=round(seconds, 1), maximum=MAX_VIDEO_S)  # fmt: skip


class _Sample:
    __slots__ = ("faces", "score", "steady", "time")

    def __init__(self, time: float, faces: int, score: float, steady: bool) -> None:
        self.time, self.faces, self.score, self.steady = time, faces, score, steady


class _Scan:
    def __init__(self) -> None:
        self.samples: list[_Sample] = []
        self.last_time = 0.0
        self.rotation = 0
        self.variable = False
        self.hdr = False
        self.full_range = False


def _scan(path: Path, container: av.container.InputContainer, stream: av.VideoStream) -> _Scan:
    scan = _Scan()
    codec = stream.codec_context
    scan.hdr = codec.color_trc in _HDR_TRANSFERS
    scan.full_range = codec.color_range == 2  # AVCOL_RANGE_JPEG
    intervals: list[float] = []
    previous_time: float | None = None
    previous_thumb: npt.NDArray[np.float32] | None = None
    next_sample = 0.0
    try:
        for frame in checked_frames(path, container):
            scan.rotation = int(frame.rotation) % 360
            scan.hdr = scan.hdr or frame.color_trc in _HDR_TRANSFERS
            scan.full_range = scan.full_range or frame.color_range == 2
            if previous_time is not None:
                intervals.append(frame.time - previous_time)
            previous_time = frame.time
            tick = frame.time_base
            duration = float(frame.duration * tick) if frame.duration and tick else 0.0
            scan.last_time = frame.time + duration
            if frame.time + 1e-6 < next_sample:
                continue
            next_sample += SAMPLE_EVERY_S
            picture = _upright(frame)
            thumb = cv2.resize(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), (64, 36)).astype(
                np.float32
            )
            steady = (
                previous_thumb is None
                or float(np.mean(np.abs(thumb - previous_thumb))) < _STEADY_DIFFERENCE
            )
            previous_thumb = thumb
            faces = subjects(find_faces(picture))
            scan.samples.append(
                _Sample(frame.time, len(faces), faces[0].score if faces else 0.0, steady)
            )
    except av.FFmpegError:
        pass  # a damaged tail: what decoded so far is judged against the declared length
    if len(intervals) > 2:
        spread = float(np.std(intervals)) / max(float(np.mean(intervals)), 1e-6)
        scan.variable = spread > _VFR_SPREAD
    scan.last_time = max(scan.last_time, previous_time or 0.0)
    return scan


def _upright(frame: av.VideoFrame) -> Rgb:
    """RGB with the stored rotation undone; swscale honours the frame's range and matrix."""
    picture = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
    turns = round(frame.rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(picture, k=turns)) if turns else picture


def _looks_like_mp4(path: Path) -> bool:
    with path.open("rb") as head:
        return head.read(12)[4:8] == b"ftyp"


def _declared_seconds(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * Fraction(stream.time_base))
    return container.duration / 1e6 if container.duration else 0.0


def _clips(samples: list[_Sample]) -> tuple[ClipInfo, ...]:
    """Runs of samples with exactly one face and a steady camera, at least a second long."""
    clips: list[ClipInfo] = []
    start: float | None = None
    end = 0.0
    for sample in [*samples, _Sample(float("inf"), 0, 0.0, False)]:
        if sample.faces == 1 and sample.steady:
            start = sample.time if start is None else start
            end = sample.time + SAMPLE_EVERY_S
            continue
        if start is not None and end - start >= _MIN_CLIP_S:
            clips.append(ClipInfo(start_s=round(start, 2), end_s=round(end, 2)))
        start = None
    return tuple(clips)
