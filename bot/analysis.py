"""Judging a member's upload before anything keeps it, outside the bot's process.

Photos, voice notes, videos and proof documents are decoded and measured in worker processes
(``bot/analysis_worker.py``, kept warm in a ``bot/workers.WorkerPool``): a codec that crashes
or a file that decodes slowly costs that process, never the chats the bot is answering, and a
worker dies with the bot. At most ANALYSES_AT_ONCE uploads are fetched and judged at a time,
each within ANALYSIS_TIMEOUT_S (past it, its process is killed); the rest wait their turn.

The checks themselves (what makes a usable photo, clip or document) are the functions below;
they run in the worker, and what they find travels back as JSON.
"""

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.plaintext import MemoryFiles
from bot.workers import Priority, WorkerFailed, WorkerPool
from engine import (
    IngestError,
    PortraitInfo,
    VideoInfo,
    VoiceInfo,
    check_image,
    check_portrait,
    check_video,
    check_voice,
    faces_in,
    keep_sound,
    video_frame,
)
from engine.likeness import ClipAssessment, assess_clip

ANALYSES_AT_ONCE = 2
# Several decoding passes of at most MAX_DECODE_WALL_S each (engine/_ingest.py) fit in this.
ANALYSIS_TIMEOUT_S = 150.0
WORKER_MODULE = "bot.analysis_worker"
_STILL_QUALITY = 92
_PDF_MAGIC = b"%PDF-"
# The same findings as for a photo or a recording, but a video's wording ("that photo is too
# large", "that recording is 299 s long" read wrong to someone who sent a video).
_SAID_OF_A_VIDEO = ("no_face", "several_faces", "too_long", "too_short", "too_large_dimensions")


@dataclass(frozen=True)
class Clip:
    """What arrival checks found in a video: its probe, footage verdict and a portrait still."""

    info: VideoInfo
    assessment: ClipAssessment
    still: bytes | None  # the best portrait frame as JPEG, when the video has one


def check_clip(path: Path, still_file: Path) -> Clip:
    """Probe and judge a video; its best frame is checked as a portrait would be, from
    ``still_file`` (in memory, see ``Analyses.clip``), where the one kept is left."""
    try:
        info = check_video(path)
    except IngestError as error:
        if error.code in _SAID_OF_A_VIDEO:
            raise IngestError(f"video_{error.code}", str(error), **error.details) from error
        raise
    assessment = assess_clip(path)
    still = None
    for seconds in info.best_frames_s:
        frame = io.BytesIO()
        video_frame(path, seconds).save(frame, format="JPEG", quality=_STILL_QUALITY)
        still_file.write_bytes(frame.getvalue())
        try:
            check_portrait(still_file)
        except IngestError:
            continue
        still = frame.getvalue()
        break
    return Clip(info, assessment, still)


@dataclass(frozen=True)
class ProofFile:
    """A proof document's type, and how many faces it shows: a photo of someone rather than of
    a document when above 0 (the member is asked before it goes to the moderators)."""

    mime_type: str
    faces: int


def check_proof_file(path: Path) -> ProofFile:
    mime_type = check_proof_document(path)
    return ProofFile(mime_type, 0 if mime_type == "application/pdf" else faces_in(path))


def check_proof_document(path: Path) -> str:
    """A proof must be a PDF or a readable image within the engine's size limits (a moderator
    opens it); returns its MIME type."""
    with path.open("rb") as head:
        if head.read(len(_PDF_MAGIC)) == _PDF_MAGIC:
            return "application/pdf"
    try:
        return check_image(path)
    except IngestError as error:
        if error.code == "not_an_image":
            raise IngestError("not_a_document", "not a PDF or an image") from error
        raise


def analyse(kind: str, path: Path, output: Path | None = None) -> Any:
    """The worker's side: run the check ``kind`` names on ``path``; its finding as JSON. A
    check that makes a file (a clip's still, a video's sound) leaves it in ``output``."""
    if kind == "portrait":
        return check_portrait(path).model_dump(mode="json")
    if kind == "voice":
        return check_voice(path).model_dump(mode="json")
    if kind == "proof":
        return asdict(check_proof_file(path))
    if kind not in ("clip", "sound"):
        raise ValueError(f"no check named {kind!r}")
    if output is None:
        raise ValueError(f"the {kind} check needs a file to leave what it makes in")
    if kind == "sound":
        # One pass over the video: its sound is kept, then the small kept file is measured.
        return check_voice(keep_sound(path, output)).model_dump(mode="json")
    clip = check_clip(path, output)
    assessment = asdict(clip.assessment) | {"path": str(clip.assessment.path)}
    # The still stays in its file: a reply is one line of a bounded length.
    return {"info": clip.info.model_dump(mode="json"), "assessment": assessment,
            "still": clip.still is not None}  # fmt: skip


class Analyses:
    """The bot's side: a few uploads at a time, each judged in a worker process."""

    def __init__(self) -> None:
        self._workers = WorkerPool(WORKER_MODULE, Priority.PROMPT)
        self._slots = asyncio.Semaphore(ANALYSES_AT_ONCE)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Held while one upload is fetched and judged: bounds the disk, memory and processes
        that uploads take at once."""
        async with self._slots:
            yield

    async def portrait(self, path: Path) -> PortraitInfo:
        return PortraitInfo.model_validate(await self._run("portrait", path))

    async def voice(self, path: Path) -> VoiceInfo:
        return VoiceInfo.model_validate(await self._run("voice", path))

    async def proof(self, path: Path) -> ProofFile:
        return ProofFile(**await self._run("proof", path))

    async def sound(self, path: Path) -> tuple[VoiceInfo, bytes]:
        """A video's sound checked as a voice note is, and kept alone (``engine.keep_sound``),
        in memory like the upload itself."""
        with MemoryFiles() as memory:
            sound_file = memory.empty("sound")
            found = await self._run("sound", path, sound_file)
            return VoiceInfo.model_validate(found), sound_file.read_bytes()

    async def clip(self, path: Path) -> Clip:
        """The worker leaves the video's still in an in-memory file of the bot's, like the
        upload itself never a file on disk (``bot/plaintext.py``)."""
        with MemoryFiles() as memory:
            still_file = memory.empty("still")
            found = await self._run("clip", path, still_file)
            still = still_file.read_bytes() if found["still"] else None
        fields = found["assessment"]
        fields |= {"path": Path(fields["path"]), "size": tuple(fields["size"]),
                   "face_centre": tuple(fields["face_centre"])}  # fmt: skip
        assessment = ClipAssessment(**fields)
        return Clip(VideoInfo.model_validate(found["info"]), assessment, still)

    async def _run(self, kind: str, path: Path, output: Path | None = None) -> Any:
        """Raises IngestError for an unusable file, including one whose analysis ran past
        ANALYSIS_TIMEOUT_S or took its process down."""
        request = {"kind": kind, "path": str(path), "output": str(output) if output else None}
        request_line = json.dumps(request).encode()
        try:
            async with asyncio.timeout(ANALYSIS_TIMEOUT_S):
                reply = await self._workers.call(request_line)
        except TimeoutError:
            raise IngestError("too_slow", f"{path.name}: analysis timed out",
                              maximum=ANALYSIS_TIMEOUT_S) from None  # fmt: skip
        except WorkerFailed as error:
            raise IngestError("unreadable_file", f"{path.name}: {error}") from None
        if "error" in reply:
            raise IngestError(reply["code"], reply["error"], **reply["details"])
        return reply["found"]

    async def close(self) -> None:
        await self._workers.close()
