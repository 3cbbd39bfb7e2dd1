"""Provenance for rendered greetings: invisible marks, the AIGC label, C2PA, and detection.

Order in a render (the encoder and mixer call these; see each function's docstring):
1. ``watermark_frames`` / ``VideoWatermarker`` on every final RGB frame;
2. ``embed_audio_watermark`` on the final 48 kHz mix;
3. ``ffmpeg_metadata_args(aigc_label(...))`` on the encoding ffmpeg run;
4. ``sign_mp4`` last, because any later remux strips the manifest.
"""

from engine.provenance._aigc import AigcLabel, aigc_label, ffmpeg_metadata_args, read_aigc
from engine.provenance._audio import (
    AUDIO_MARK_PERIOD_SAMPLES,
    MARK_RATE,
    embed_audio_watermark,
    read_audio_mark,
)
from engine.provenance._c2pa import (
    C2paReading,
    C2paState,
    SigningIdentity,
    read_c2pa,
    sign_mp4,
    signing_identity,
)
from engine.provenance._detect import (
    DetectionReport,
    MarkReport,
    detect,
    trust_anchor_from_env,
)
from engine.provenance._payload import KEY_ENV as WATERMARK_KEY_ENV
from engine.provenance._payload import KEY_FILE_ENV as WATERMARK_KEY_FILE_ENV
from engine.provenance._payload import (
    MarkReading,
    Payload,
    WatermarkKeyError,
    load_watermark_key,
    make_payload,
    token_for_render_id,
)
from engine.provenance._video import VideoWatermarker, read_video_mark, watermark_frames

__all__ = [
    "AUDIO_MARK_PERIOD_SAMPLES",
    "MARK_RATE",
    "WATERMARK_KEY_ENV",
    "WATERMARK_KEY_FILE_ENV",
    "AigcLabel",
    "C2paReading",
    "C2paState",
    "DetectionReport",
    "MarkReading",
    "MarkReport",
    "Payload",
    "SigningIdentity",
    "VideoWatermarker",
    "WatermarkKeyError",
    "aigc_label",
    "detect",
    "embed_audio_watermark",
    "ffmpeg_metadata_args",
    "load_watermark_key",
    "make_payload",
    "read_aigc",
    "read_audio_mark",
    "read_c2pa",
    "read_video_mark",
    "sign_mp4",
    "signing_identity",
    "token_for_render_id",
    "trust_anchor_from_env",
    "watermark_frames",
]
