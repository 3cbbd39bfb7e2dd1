"""Marking a render as this service's: watermarks in picture and sound, AIGC metadata, C2PA.

The order matters (see engine.provenance): marks go into every final frame and the final mix,
the metadata into the encoding run, and the signature last, because any later remux would strip
the C2PA manifest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine._encoder import FASTSTART
from engine._models import Marking, RenderSpec
from engine.provenance import (
    VideoWatermarker,
    aigc_label,
    embed_audio_watermark,
    ffmpeg_metadata_args,
    make_payload,
    sign_mp4,
    signing_identity,
)

Frame = npt.NDArray[np.uint8]
Audio = npt.NDArray[np.float32]


class Marks:
    """Everything one render needs to mark itself, built once for its frame size."""

    def __init__(self, spec: RenderSpec, marking: Marking, size: tuple[int, int]) -> None:
        self._spec = spec
        self._marking = marking
        self._key = marking.watermark_key.get_secret_value()
        self.payload = make_payload(marking.token, self._key)
        # Each marked frame goes straight into the encoder's pipe before the next is marked.
        self._video = VideoWatermarker(self.payload, self._key, *size, in_place=True)
        self.container_args = ffmpeg_metadata_args(
            aigc_label(spec.render_id, self.payload.hex, marking.propagator)
        )

    def frame(self, frame: Frame) -> Frame:
        return self._video(frame)

    def mix(self, audio: Audio) -> Audio:
        return embed_audio_watermark(audio, self.payload, self._key).astype(np.float32)

    def sign(self, video: Path) -> None:
        """Sign ``video`` in place: the signed copy replaces it only once it is complete."""
        assert self._spec.consent is not None, "render() refuses specs without consent"
        signed = video.with_name(f".{video.stem}.signed.mp4")
        try:
            sign_mp4(
                video,
                signed,
                signing_identity(self._marking.signing_dir),
                render_id=self._spec.render_id,
                template_id=self._spec.template_id,
                consent_sha256=self._spec.consent.record_hash,
            )
            signed.replace(video)
        finally:
            signed.unlink(missing_ok=True)


def container_args(marks: Marks | None) -> tuple[str, ...]:
    return marks.container_args if marks is not None else FASTSTART
