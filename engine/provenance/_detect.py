"""`detect(path)`: everything a file says about where it came from, in one report.

The engine knows no database: the bot (``bot/verification.py``) maps the token, or the C2PA
render id, to its render, family and consent status.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import av
from pydantic import BaseModel, computed_field

from engine._errors import IngestError
from engine._ingest import open_media
from engine._video import _VIDEO_CONTAINERS, _looks_like_mp4
from engine.provenance._aigc import read_aigc
from engine.provenance._audio import read_audio_mark
from engine.provenance._c2pa import TRUST_ENV, C2paReading, C2paState, read_c2pa
from engine.provenance._payload import MarkReading
from engine.provenance._video import read_video_mark


class MarkReport(BaseModel, frozen=True):
    payload: str | None  # 16 hex digits: 10 of render token, 6 of MAC
    token: int | None
    mac_valid: bool
    confidence: float

    @classmethod
    def of(cls, reading: MarkReading) -> MarkReport:
        payload = reading.payload
        return cls(
            payload=None if payload is None else payload.hex,
            token=None if payload is None else payload.token,
            mac_valid=reading.mac_valid,
            confidence=round(reading.confidence, 4),
        )


class C2paReport(BaseModel, frozen=True):
    state: C2paState
    render: dict[str, Any] | None


class DetectionReport(BaseModel, frozen=True):
    video: MarkReport
    audio: MarkReport
    c2pa: C2paReport
    aigc: dict[str, Any] | None
    # A voice message has no picture to carry a mark and no C2PA manifest (Ogg holds none):
    # what is missing from it says nothing about what happened to it.
    voice_message: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def made_by_service(self) -> bool:
        """The yes/no a stranger sees: any mark with a verifying MAC, or a trusted manifest."""
        return self.video.mac_valid or self.audio.mac_valid or self.c2pa.state == "trusted"


_MP4_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"  # the only container our C2PA manifests are read from
_VOICE_CONTAINER = "ogg"  # Telegram's voice messages (engine._voice_note)


def detect(path: Path, key: bytes, trust_anchor: bytes | None = None) -> DetectionReport:
    """Video and audio are read independently: a messenger may keep one and mangle the other.

    A voice message (Ogg) is read for its audio mark and label. Raises IngestError
    (``empty_file``, ``truncated``, ``not_a_video``) for a file that is neither: FFmpeg would
    read a photo as a one-frame video and answer a confident "no".
    """
    container = _video_container(path)
    mp4 = container == _MP4_FAMILY
    label = read_aigc(path)
    c2pa = read_c2pa(path, trust_anchor) if mp4 else C2paReading("absent", None)
    return DetectionReport(
        video=MarkReport.of(read_video_mark(path, key)),
        audio=MarkReport.of(read_audio_mark(path, key)),
        c2pa=C2paReport(state=c2pa.state, render=c2pa.render),
        aigc=None if label is None else label.model_dump(),
        voice_message=container == _VOICE_CONTAINER,
    )


def _video_container(path: Path) -> str:
    """The container's name, once it is sure the file is a video in a container videos come in."""
    try:
        # The uploads' one opener: only containers videos and voice notes come in. A plain
        # av.open let any demuxer read noise, and one whose tags were not UTF-8 crashed it.
        with open_media(path) as container:
            if container.format.name in _VIDEO_CONTAINERS and container.streams.video:
                return str(container.format.name)
            if container.format.name == _VOICE_CONTAINER and container.streams.audio:
                return _VOICE_CONTAINER  # a voice-message greeting: its sound carries the mark
    except av.FFmpegError as error:
        if _looks_like_mp4(path):
            raise IngestError("truncated", f"{path.name}: MP4 without its index") from error
        raise IngestError("not_a_video", f"{path.name}: not a readable video") from error
    raise IngestError("not_a_video", f"{path.name}: no video in it")


def trust_anchor_from_env(key_dir: Path, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The operator's root if named, else the local chain's root if one was made, else none."""
    env = os.environ if environ is None else environ
    if TRUST_ENV in env:
        return Path(env[TRUST_ENV]).read_bytes()
    root = key_dir / "root.pem"
    return root.read_bytes() if root.exists() else None
