"""The implicit label of GB 45438-2025: an `AIGC` JSON in the MP4's metadata, written once.

ffmpeg writes arbitrary keys into MP4 only with ``use_metadata_tags`` (an mdta `meta` box);
without it the key is silently dropped. The JSON is written by the same ffmpeg run that encodes,
so it exists exactly once, and it must be written before C2PA signing (a later remux would strip
the manifest).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine._ingest import open_media

PRODUCER = "Tuanyuan"


class AigcLabel(BaseModel):
    """GB 45438-2025 implicit-label fields, spelled as the standard spells them."""

    model_config = ConfigDict(frozen=True, extra="allow")

    Label: str = "1"
    ContentProducer: str = PRODUCER
    ProduceID: str = Field(min_length=1)
    # Producer's integrity field: the watermark payload, so metadata and mark can be cross-checked.
    ReservedCode1: str = ""
    ContentPropagator: str = ""
    PropagateID: str = ""
    ReservedCode2: str = ""


def aigc_label(render_id: str, payload_hex: str, propagator: str = "") -> AigcLabel:
    return AigcLabel(ProduceID=render_id, ReservedCode1=payload_hex, ContentPropagator=propagator)


def ffmpeg_metadata_args(label: AigcLabel) -> tuple[str, ...]:
    """Output arguments for the encoding ffmpeg run; they replace its ``-movflags +faststart``."""
    text = json.dumps(label.model_dump(), ensure_ascii=False, separators=(",", ":"))
    return ("-metadata", f"AIGC={text}", "-movflags", "use_metadata_tags+faststart")


def read_aigc(path: Path) -> AigcLabel | None:
    """The parsed label, or None when the file has none or it is not the standard's JSON."""
    with open_media(path) as container:  # a file sent to /verify is anyone's
        # MP4 keeps it in the container; Ogg (a voice note) in its audio stream's comments.
        text = container.metadata.get("AIGC") or next(
            (s.metadata["AIGC"] for s in container.streams.audio if "AIGC" in s.metadata), None
        )
    if text is None:
        return None
    try:
        return AigcLabel.model_validate_json(text)
    except ValidationError:
        return None
