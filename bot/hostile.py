"""Hostile inputs: a corpus made by code (never binary blobs), sent by a verified member to the
real bot through the stand-in, and what became of each (``tuanyuan bench reliability``, which
writes RELIABILITY.md; a reduced run in tests/test_faults.py).

Every case must get an answer in the member's chat (or be refused by Telegram itself, as the
stand-in does for a photo it cannot process), the bot must stay up, and nothing may be left on
disk outside the vault: no plaintext upload, no file named by the sender.
"""

from __future__ import annotations

import asyncio
import io
import struct
import subprocess
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, TextIO

import av
import imageio_ffmpeg
import numpy as np
from PIL import Image

from bot import reliability_report
from bot.demo.samples import encode_voice_note, sample_portrait_jpeg
from bot.faults import MEMBER, FaultError, FaultHarness
from bot.sandbox import SandboxClient, SandboxError, SandboxUser, SentMessage
from engine import stand_in_portrait, write_wav

Kind = Literal["photo", "document", "video", "video_note", "voice", "text"]
_REPLY_S = 120.0  # one upload's analysis on a busy machine, with room to spare
_SETTLE_S = 1.2  # the stand-in paces a chat's messages to one a second: late second replies


@dataclass(frozen=True)
class Case:
    name: str
    kind: Kind
    data: bytes = b""
    text: str = ""  # the text, or a document's file name
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Outcome:
    case: Case
    answered: bool
    by_telegram: bool  # refused by the stand-in, as Telegram refuses it, before the bot saw it
    reply: str
    seconds: float

    @property
    def held(self) -> bool:
        return self.answered or self.by_telegram


# --- makers of hostile files ---


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions but holds almost no data: a decompression bomb's shape."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return _png(header, zlib.compress(b"\x00" * 16))


def _png(header: bytes, data: bytes, extra: bytes = b"") -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))  # fmt: skip


def _png_with_text(megabytes: int) -> bytes:
    """A small valid PNG carrying megabytes of text metadata."""
    pixels = np.asarray(
        Image.open(io.BytesIO(sample_portrait_jpeg())).convert("RGB").resize((64, 64))
    )
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    body = b"Comment\x00" + b"A" * (megabytes * 1024 * 1024)
    text = (
        struct.pack(">I", len(body))
        + b"tEXt"
        + body
        + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    )
    return _png(header, zlib.compress(raw), text)


def undeclared_length_mkv(path: Path, seconds: float, fps: int = 1) -> Path:
    """A Matroska video of ``seconds`` whose header declares no duration, as a live recording
    writes it: only decoding tells how long it is."""
    with av.open(str(path), "w", format="matroska", options={"live": "1"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, fps)
        grey = np.full((16, 16, 3), 100, np.uint8)
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(grey, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def size_switching_mkv(path: Path, width: int, height: int, after: int = 25) -> Path:
    """Motion-JPEG frames of 64x64 whose stream switches to ``width`` x ``height`` mid-way: the
    header only knows the first size."""
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("mjpeg", rate=25)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuvj420p"
        small = np.full((64, 64, 3), 90, np.uint8)
        for index in range(after):
            frame = av.VideoFrame.from_ndarray(small, format="rgb24").reformat(format="yuvj420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        large = av.CodecContext.create("mjpeg", "w")
        large.width, large.height = width, height
        large.pix_fmt = "yuvj420p"
        large.time_base = stream.codec_context.time_base
        frame = av.VideoFrame(width, height, "yuvj420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts = after
        for packet in [*large.encode(frame), *large.encode(None)]:
            packet.stream = stream
            packet.pts = packet.dts = after
            container.mux(packet)
    return path


def _clip(
    path: Path,
    *,
    hevc_10_bit: bool = False,
    rotation: int = 0,
    start_s: float = 0.0,
    title: str | None = None,
    seconds: float = 2.0,
) -> Path:
    """A short clip of the code-drawn face: sideways with a rotation tag, starting late (an edit
    list), HEVC 10-bit, or with huge metadata, as asked."""
    face = np.asarray(stand_in_portrait((320, 432)))
    # Stored turned the other way: the display matrix turns it upright.
    picture = np.ascontiguousarray(np.rot90(face, k=-rotation // 90)) if rotation else face
    with av.open(str(path), "w") as container:
        if title is not None:
            container.metadata["title"] = title
        stream = container.add_stream("libx265" if hevc_10_bit else "libx264", rate=25)
        if hevc_10_bit:
            stream.codec_context.options = {"x265-params": "log-level=none"}
        stream.height, stream.width = picture.shape[:2]
        stream.pix_fmt = "yuv420p10le" if hevc_10_bit else "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for index in range(round(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = round((start_s + index / 25) * 1000), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def titled(path: Path, title: bytes) -> Path:
    """``path`` with a title tag holding ``title``'s bytes as they are, as old cameras and phone
    apps wrote titles in GBK or Latin-1 (not UTF-8): the streams copied, the tag patched in.
    Not for Ogg, whose pages' checksums a patch breaks."""
    stand_in = "T" * len(title)
    copy = path.with_name(f"titled-{path.name}")
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(path), "-c", "copy",
         "-map", "0", "-movflags", "use_metadata_tags", "-metadata", f"title={stand_in}",
         str(copy)],
        check=True,
    )  # fmt: skip
    data = copy.read_bytes()
    assert data.count(stand_in.encode()) == 1
    copy.write_bytes(data.replace(stand_in.encode(), title))
    return copy


def _with_atoms(mp4: bytes, count: int) -> bytes:
    """The MP4 followed by a top-level box holding ``count`` empty child boxes."""
    children = struct.pack(">I4s", 8, b"free") * count
    return mp4 + struct.pack(">I4s", 8 + len(children), b"udta") + children


def _tone_note(directory: Path, seconds: float, frequency: float = 0.0) -> bytes:
    t = np.arange(int(seconds * 16_000)) / 16_000
    samples = (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    wav = write_wav(directory / f"tone-{seconds}-{frequency}.wav", samples, 16_000)
    return encode_voice_note(wav, directory / f"tone-{seconds}-{frequency}.ogg").read_bytes()


def corpus(directory: Path) -> list[Case]:
    """Every hostile case, made now in ``directory`` (created when missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    return list(_cases(directory))


def _cases(work: Path) -> Iterator[Case]:
    jpeg = sample_portrait_jpeg()
    mp4_path = _clip(work / "face.mp4")
    mp4 = mp4_path.read_bytes()
    hls = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nface.mp4\n#EXT-X-ENDLIST\n"
    concat = b"ffconcat version 1.0\nfile face.mp4\n"
    images = {
        "empty": b"",
        "random bytes": bytes(range(256)) * 40,
        "truncated JPEG": jpeg[: len(jpeg) // 3],
        "PNG bomb 30000x30000": png_header_only(30_000, 30_000),
        "PNG claiming 7600x7600": png_header_only(7600, 7600),
        "tiny 8x8": _encoded(np.zeros((8, 8, 3), np.uint8), "PNG"),
        "GIF behind .jpg": _encoded(np.zeros((300, 300, 3), np.uint8), "GIF"),
        "JPEG+ZIP polyglot": jpeg + b"PK\x03\x04" + bytes(26) + b"PK\x05\x06" + bytes(18),
        "MP4 behind .jpg": mp4,
        "HTML behind .png": b"<html><script>alert(1)</script></html>",
        "PNG with 8 MB of text metadata": _png_with_text(8),
        "strip 8000x40": _encoded(np.zeros((40, 8000, 3), np.uint8), "PNG"),
        "SVG with an external entity": b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM '
        b'"file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
    }
    for name, data in images.items():
        yield Case(f"photo: {name}", "photo", data)
        yield Case(f"image document: {name}", "document", data, "photo.jpg", "image/jpeg")
    for file_name in ("../../../../etc/passwd.jpg", "photo\u202egpj.exe", "p\u200bh\u200do.jpg",
                      "/tmp/absolute.jpg", "C:\\Windows\\x.jpg"):  # fmt: skip
        yield Case(f"file name {file_name!r}", "document", jpeg, file_name, "image/jpeg")
    videos = {
        "empty": b"",
        "random bytes": bytes(range(256)) * 400,
        "truncated MP4": mp4[: len(mp4) // 2],
        "5 minutes, no declared duration": undeclared_length_mkv(
            work / "live.mkv", 300
        ).read_bytes(),
        "frames growing to 8192 wide": size_switching_mkv(work / "grow.mkv", 8192, 64).read_bytes(),
        "HLS playlist behind .mp4": hls,
        "ffconcat list behind .mp4": concat,
        "HEVC 10-bit": _clip(work / "hevc.mp4", hevc_10_bit=True).read_bytes(),
        "sideways phone video": _clip(work / "phone.mp4", rotation=-90).read_bytes(),
        "edit list (starts at 1 s)": _clip(work / "late.mp4", start_s=1.0).read_bytes(),
        "1 MB title": _clip(work / "title.mp4", title="T" * 1_000_000).read_bytes(),
        "title in GBK, not UTF-8": titled(mp4_path, "外公八十大壽".encode("gbk")).read_bytes(),
        "10,000 child atoms": _with_atoms(mp4, 10_000),
        "JPEG behind .mp4": jpeg,
        "voice note behind .mp4": _tone_note(work, 3.0, 220.0),
    }
    for name, data in videos.items():
        yield Case(f"video: {name}", "video", data)
        yield Case(f"video document: {name}", "document", data, "clip.mp4", "video/mp4")
    for name in ("sideways phone video", "random bytes", "5 minutes, no declared duration"):
        yield Case(f"video note: {name}", "video_note", videos[name])
    voices = {
        "empty": b"",
        "random bytes": bytes(range(256)) * 100,
        "silence": _tone_note(work, 4.0),
        "a hum, no speech": _tone_note(work, 4.0, 180.0),
        "3 minutes of hum": _tone_note(work, 180.0, 180.0),
        "WAV behind .ogg": (work / "tone-4.0-180.0.wav").read_bytes(),
        "MP4 behind .ogg": mp4,
        "HLS playlist behind .ogg": hls,
    }
    for name, data in voices.items():
        yield Case(f"voice: {name}", "voice", data)
    documents = {
        "PDF that is a JPEG": (jpeg, "proof.pdf", "application/pdf"),
        "a PE executable behind .pdf": (b"MZ" + bytes(200), "proof.pdf", "application/pdf"),
        "a ZIP": (b"PK\x05\x06" + bytes(18), "archive.zip", "application/zip"),
        "a shell script": (b"#!/bin/sh\nrm -rf /\n", "run.sh", "text/x-shellscript"),
        "over Telegram's 20 MB": (bytes(20 * 1024 * 1024 + 1), "big.ogg", "audio/ogg"),
    }
    for name, (data, file_name, mime) in documents.items():
        yield Case(f"document: {name}", "document", data, file_name, mime)
    texts = {
        "RTL override": "Grandma\u202e!olleh",
        "zero-width characters": "G\u200br\u200ca\u200dn\ufeffd",
        "NUL, BEL and ANSI escapes": "Gran\x00dma\x07\x1b[31mred\x1b[0m",
        "SQL": "'; DROP TABLE orders; --",
        "HTML markup": "<b>bold</b><a href='tg://x'>link</a>",
        "Markdown": "*bold* _it_ [x](http://e.com) `code`",
        "4096 characters": "好" * 4096,
        "an emoji ZWJ sequence": "👨\u200d👩\u200d👧\u200d👦",
        "an unknown command": "/sudo make me a sandwich",
        "a forged invite": "/start " + "A" * 32,
        "a path as invite": "/start ../../etc/passwd",
        "a long invite": "/start " + "B" * 4000,
        "a campaign-looking invite": "/start c_" + "x" * 60,
        "/cancel": "/cancel",
        "/help in bidi text": "/help \u2067x\u2069",
    }
    for name, text in texts.items():
        yield Case(f"text: {name}", "text", text=text)


def _encoded(pixels: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


# --- running them ---


async def send(sandbox: SandboxClient, user: SandboxUser, case: Case) -> None:
    """``case`` as ``user`` sends it from a Telegram app."""
    if case.kind == "photo":
        await sandbox.send_photo(user, case.data)
    elif case.kind == "document":
        await sandbox.send_document(user, case.data, case.text, case.mime_type)
    elif case.kind == "video":
        await sandbox.send_video(user, case.data, duration=2, width=320, height=432)
    elif case.kind == "video_note":
        await sandbox.send_video_note(user, case.data, duration=2, length=240)
    elif case.kind == "voice":
        await sandbox.send_voice(user, case.data, duration=4)
    else:
        await sandbox.send_text(user, case.text)


async def run_cases(
    harness: FaultHarness, cases: list[Case], say: Callable[[str], None] = lambda _: None
) -> list[Outcome]:
    """Each case in turn, sent by the harness's verified member; its outcome once the bot
    answered it (or after _REPLY_S). Raises FaultError when the bot died."""
    sandbox, user = harness.sandbox, MEMBER
    outcomes = []
    for case in cases:
        started = time.monotonic()
        before = max((m.message_id for m in await sandbox.sent_messages(user.id)), default=0)
        reply: SentMessage | None = None
        by_telegram = False
        try:
            await send(sandbox, user, case)
        except SandboxError:
            by_telegram = True
        if not by_telegram:
            reply = await _reply(harness, user, before)
            await asyncio.sleep(_SETTLE_S)
        text = (reply.text or reply.caption or reply.method) if reply is not None else ""
        outcome = Outcome(case, reply is not None, by_telegram, text.split("\n")[0][:120],
                          time.monotonic() - started)  # fmt: skip
        say(f"{case.name}: {'Telegram refused it' if by_telegram else outcome.reply or 'NO REPLY'}")
        outcomes.append(outcome)
    return outcomes


async def _reply(harness: FaultHarness, user: SandboxUser, after: int) -> SentMessage | None:
    """The bot's first message to ``user`` after message ``after``; None after _REPLY_S."""
    deadline = time.monotonic() + _REPLY_S
    while time.monotonic() < deadline:
        harness.bot.check_alive()
        try:
            return await harness.sandbox.wait_for_message(
                user.id, lambda m: m.message_id > after, timeout=5.0
            )
        except TimeoutError:
            continue
    return None


async def bench(work: Path, out: Path, say: Callable[[str], None]) -> bool:
    """The whole corpus against the real bot; RELIABILITY.md written to ``out``. True when
    every case held, the bot never crashed and nothing was left outside the vault."""
    crashed = False
    outcomes: list[Outcome] = []
    cases = corpus(work / "corpus")
    say(f"{len(cases)} cases")
    async with FaultHarness(work / "bot", price_stars=0, log=say) as harness:
        try:
            outcomes = await run_cases(harness, cases, say)
        except FaultError as error:
            crashed = True
            say(str(error))
        stray = outside_the_vault(harness.data_dir)
    kept = reliability_report.sections(out)  # what other benchmarks wrote there
    with out.open("w", encoding="utf-8") as report_file:
        report(outcomes, stray, crashed, report_file)
        report_file.write(kept)
    return not crashed and not stray and all(o.held for o in outcomes)


def outside_the_vault(data_dir: Path) -> list[str]:
    """Files in the bot's data folder that are neither sealed in the vault nor the bot's own
    records: a plaintext upload left in scratch, a file named by a sender."""
    own = {"tuanyuan.sqlite3", "tuanyuan.sqlite3-wal", "tuanyuan.sqlite3-shm", "audit.log",
           "vault.key"}  # fmt: skip
    stray = []
    for path in data_dir.rglob("*"):
        relative = path.relative_to(data_dir)
        if not path.is_file() or relative.parts[0] in ("media", "c2pa") or str(relative) in own:
            continue
        stray.append(str(relative))
    return stray


def report(outcomes: list[Outcome], stray: list[str], crashed: bool, out: TextIO) -> None:
    """RELIABILITY.md: what was tried, what held."""
    held = sum(outcome.held for outcome in outcomes)
    silent = [o for o in outcomes if not o.held]
    kinds: dict[str, int] = {}
    for outcome in outcomes:
        kinds[outcome.case.kind] = kinds.get(outcome.case.kind, 0) + 1
    out.write("# Reliability\n\nRegenerated by `tuanyuan bench reliability`: a verified member "
              "sends every case of the hostile corpus (`bot/hostile.py`, made by code) to the "
              "real bot through the Bot API stand-in.\n\n")  # fmt: skip
    out.write(f"- cases: {len(outcomes)} ({', '.join(f'{k} {n}' for k, n in kinds.items())})\n")
    out.write(f"- answered or refused by Telegram: {held}; silent: {len(silent)}\n")
    out.write(f"- the bot crashed: {'yes' if crashed else 'no'}\n")
    out.write(f"- files left outside the vault: {len(stray)}\n\n")
    out.write("| case | answer | seconds |\n| --- | --- | --- |\n")
    for outcome in outcomes:
        answer = "refused by Telegram" if outcome.by_telegram else outcome.reply or "**no answer**"
        cell = answer.replace("|", "\\|").replace("\n", " ")
        name = ascii(outcome.case.name)[1:-1].replace("|", "\\|")
        out.write(f"| {name} | {cell} | {outcome.seconds:.1f} |\n")
