"""Vetting of the sender's photo and voice notes before they cost a render.

Every rejection is an IngestError with a stable code and the numbers behind it, so the bot can
explain it in the member's language.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from engine._errors import IngestError
from engine._faces import find_faces, subjects
from engine._models import FaceBox, PortraitInfo
from engine._quality import require_good_portrait, too_dark_to_tell

MIN_PORTRAIT_SIDE = 256
MAX_PORTRAIT_SIDE = 7680  # 8K UHD width
MAX_PORTRAIT_PIXELS = 50_000_000
ANALYSIS_RATE = 16_000
# The most wall time one decoding pass over an upload may take, whatever its header promises.
MAX_DECODE_WALL_S = 60.0
# FFmpeg reads uploads only from the file it is given: a crafted playlist (HLS, concat, a
# reference movie) cannot make it open other files or the network. Containers phones and
# messengers send photos' videos and voice notes in; anything else is refused at open.
_OPTIONS = {
    "protocol_whitelist": "file,pipe",
    "format_whitelist": "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,ogg,mp3,wav,flac,aac",
}


def check_portrait(path: Path, face_index: int | None = None) -> PortraitInfo:
    """Size and faces of a photo that is safe to decode and shows one subject (or a chosen one)
    well enough to animate: sharp, lit from the front, eyes open and uncovered (engine/_quality).

    Raises ValueError when ``face_index`` does not name one of the faces found.
    """
    image = load_portrait(path)
    faces = subject_faces(image, path.name, face_index)
    chosen = faces[0 if face_index is None else face_index]
    require_good_portrait(np.asarray(image), chosen, path.name)
    return PortraitInfo(width=image.width, height=image.height, faces=tuple(faces))


def faces_in(path: Path) -> int:
    """How many subject-sized faces a readable photo shows, without judging them as portraits:
    tells a photo of someone from a scanned document. 0 for anything that is not a usable image."""
    try:
        image = load_portrait(path)
    except IngestError:
        return 0
    return len(subjects(find_faces(np.asarray(image))))


def check_image(path: Path) -> str:
    """The MIME type of a readable image within the size limits (a document, not a portrait:
    no face needed). A decompression bomb is refused from its header, never decoded."""
    require_non_empty(path)
    with _open_image(path) as image:
        try:
            image.verify()
        except (OSError, ValueError, SyntaxError) as exc:
            raise IngestError("not_an_image", f"{path.name}: image data is corrupt") from exc
        return Image.MIME.get(image.format or "", "image/jpeg")


def load_subject(path: Path, face_index: int | None) -> tuple[Image.Image, FaceBox]:
    """The upright photo and the face to feature, after every check ``check_portrait`` makes."""
    image = load_portrait(path)
    faces = subject_faces(image, path.name, face_index)
    return image, faces[0 if face_index is None else face_index]


def subject_faces(image: Image.Image, name: str, face_index: int | None) -> list[FaceBox]:
    """Faces big enough to be the subject, best first; one, or a valid choice among several."""
    pixels = np.asarray(image)
    faces = subjects(find_faces(pixels))
    if not faces and too_dark_to_tell(pixels):
        raise IngestError("too_dark", f"{name}: too dark to find a face")
    if not faces:
        raise IngestError("no_face", f"{name}: no face found", width=image.width,
                          height=image.height)  # fmt: skip
    if face_index is None and len(faces) > 1:
        raise IngestError("several_faces", f"{name}: {len(faces)} faces, none chosen",
                          count=len(faces))  # fmt: skip
    if face_index is not None and not 0 <= face_index < len(faces):
        raise ValueError(f"face_index {face_index} but {len(faces)} face(s) found")
    return faces


def load_portrait(path: Path) -> Image.Image:
    """The photo upright and in RGB, after every check that makes it safe and usable.

    Dimensions are checked from the header before any pixel is decoded, so a decompression
    bomb costs nothing.
    """
    require_non_empty(path)
    with _open_image(path) as image:
        try:
            upright = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, ValueError, SyntaxError) as exc:
            raise IngestError("not_an_image", f"{path.name}: image data is corrupt") from exc
    width, height = upright.size
    if min(width, height) < MIN_PORTRAIT_SIDE:
        raise IngestError(
            "too_small",
            f"{path.name}: {width}x{height} is too small",
            width=width,
            height=height,
            minimum=MIN_PORTRAIT_SIDE,
        )
    return upright


def _open_image(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; our own limit is lower.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise _too_large(path, 0, 0) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise IngestError("not_an_image", f"{path.name}: not a readable image") from exc
    width, height = image.size
    if max(width, height) > MAX_PORTRAIT_SIDE or width * height > MAX_PORTRAIT_PIXELS:
        image.close()
        raise _too_large(path, width, height)
    return image


def _too_large(path: Path, width: int, height: int) -> IngestError:
    return IngestError(
        "too_large_dimensions",
        f"{path.name}: image dimensions are too large",
        width=width,
        height=height,
        maximum=MAX_PORTRAIT_SIDE,
    )


def decode_audio(
    path: Path, max_seconds: float, rate: int = ANALYSIS_RATE
) -> npt.NDArray[np.float32]:
    """Mono float samples at ``rate``, whatever the container or codec.

    Decoding stops shortly after ``max_seconds`` so a huge upload cannot tie up the worker.
    """
    limit = int(max_seconds * rate)
    chunks: list[npt.NDArray[np.float32]] = []
    decoded = 0
    try:
        with open_media(path) as container:
            if not container.streams.audio:
                raise IngestError("unreadable_audio", f"{path.name}: no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            deadline = decode_deadline()
            for frame in container.decode(audio=0):
                check_deadline(path, deadline)
                for out in resampler.resample(frame):
                    chunks.append(_mono(out))
                    decoded += len(chunks[-1])
                if decoded > limit:
                    break
            else:
                chunks.extend(_mono(out) for out in resampler.resample(None))
    except av.FFmpegError as exc:
        raise IngestError("unreadable_audio", f"{path.name}: cannot decode audio") from exc
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def audio_length(path: Path, reached: float) -> float:
    """How long a recording is whose decoding stopped at ``reached`` seconds, its limit: the
    member is told its real length, not the limit's."""
    try:
        with open_media(path) as container:
            stream = container.streams.audio[0]
            return length_by_packets(container, stream, reached, decode_deadline())
    except av.FFmpegError:
        return reached


def length_by_packets(
    container: av.container.InputContainer,
    stream: av.stream.Stream,
    reached: float,
    deadline: float | None,
) -> float:
    """How long a stream too long to decode is, from the rest of its packets' timestamps, which
    cost no decoding; as far as the deadline allows."""
    longest = reached
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            longest = max(longest, float(packet.pts * packet.time_base))
        if deadline is not None and time.monotonic() > deadline:
            break
    return longest


def _mono(frame: av.AudioFrame) -> npt.NDArray[np.float32]:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)


def open_media(path: Path) -> av.container.InputContainer:
    """An upload opened for decoding, only as a file of a container we expect (see _OPTIONS).

    Every decoder of uploaded media opens it here; raises av.FFmpegError like ``av.open``.
    Tags are read as UTF-8 with anything else replaced: cameras and old phone apps write them in
    GBK or Latin-1, and PyAV's strict decoding refused the whole file for a title.
    """
    require_non_empty(path)
    return av.open(str(path), options=_OPTIONS, metadata_errors="replace")


def decode_deadline() -> float:
    """When a decoding pass starting now must end (time.monotonic())."""
    return time.monotonic() + MAX_DECODE_WALL_S


def check_deadline(path: Path, deadline: float) -> None:
    """Refuse a file whose decoding runs past ``deadline`` (time.monotonic()): a crafted stream
    can be slow to decode whatever its size says."""
    if time.monotonic() > deadline:
        raise IngestError("too_slow", f"{path.name}: decoding took more than "
                          f"{MAX_DECODE_WALL_S:.0f} s", maximum=MAX_DECODE_WALL_S)  # fmt: skip


def require_non_empty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError("unreadable_file", f"{path.name}: cannot be read") from exc
    if size == 0:
        raise IngestError("empty_file", f"{path.name}: file is empty")
