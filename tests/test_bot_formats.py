"""Greetings in the shapes Telegram users send: a round video note, a voice message, a vertical
video for Stories; asked on the order's card and remembered for the next greeting.

One family orders three greetings with short words of its own (so each render is short), over
HTTP through the stand-in; what arrives is downloaded and decoded.
"""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from bot.delivery import ORIGINAL_PREFIX, Shape
from bot.flows.order import PLACE_PREFIX, SHAPE_PREFIX, WORDS_PREFIX, place_button, shape_name
from bot.i18n import gettext_for
from bot.orders import SEND_PREFIX
from bot.sandbox import SandboxUser, SentMessage
from bot.vault import load_or_create_key, watermark_key
from engine import DISCLOSURE
from engine._faces import find_faces
from engine._ingest import ANALYSIS_RATE
from engine._scene import _label_layer
from engine._voice import speech_spans
from engine._voice_note import DISCLOSURE_START_S
from engine.provenance import read_aigc, read_audio_mark
from tests.auxil.bot import ADMIN, BotWorld, settings_for
from tests.auxil.family import approve_order, living_family, order_of, prepare_order
from tests.auxil.video import frame_at

ZH_HANT = gettext_for("zh-Hant")
MEMBER = SandboxUser(5301, "美玲", language_code="zh-hant")
GRANDPA = SandboxUser(5302, "外公", language_code="zh-hant")
RENDER_WAIT_S = 60.0


def _buttons(message: SentMessage) -> str:
    return json.dumps(message.reply_markup)


async def _order(world: BotWorld, shape: Shape | None, remembered: Shape) -> SentMessage:
    """A greeting with a few words of the family's own, in ``shape`` (None: as remembered,
    which the card must name); returns the delivered message."""
    sandbox = world.sandbox
    card = await prepare_order(world, MEMBER, "外婆")
    card = await world.reply_to(
        MEMBER,
        lambda: sandbox.send_text(MEMBER, "中秋快樂。"),
        until=lambda m: PLACE_PREFIX in _buttons(m),
    )
    assert card.text is not None and shape_name(ZH_HANT, remembered) in card.text
    if shape is not None:
        question = await world.reply_to(
            MEMBER, lambda: sandbox.press_button(MEMBER, card.message_id, WORDS_PREFIX + "shape")
        )
        assert question.text == ZH_HANT("How should the greeting arrive?")
        card = await world.reply_to(
            MEMBER,
            lambda: sandbox.press_button(MEMBER, question.message_id, SHAPE_PREFIX + shape),
            until=lambda m: PLACE_PREFIX in _buttons(m),
        )
        assert card.text is not None and shape_name(ZH_HANT, shape) in card.text
    await world.reply_to(
        MEMBER,
        lambda: sandbox.press_button(MEMBER, card.message_id, place_button(card.reply_markup)),
    )
    await approve_order(world)  # the family's own words are read first
    preview = await sandbox.wait_for_message(
        MEMBER.id, lambda m: SEND_PREFIX in _buttons(m), timeout=RENDER_WAIT_S
    )
    return await world.reply_to(
        MEMBER,
        lambda: sandbox.press_button(MEMBER, preview.message_id, SEND_PREFIX + order_of(preview)),
        until=lambda m: m.method == preview.method,
    )


def _inside_circle(box: tuple[int, int, int, int], side: int) -> bool:
    x, y, width, height = box
    corners = [(x, y), (x + width, y), (x, y + height), (x + width, y + height)]
    return all(np.hypot(cx - side / 2, cy - side / 2) <= side / 2 for cx, cy in corners)


def _label_box(frame: np.ndarray, side: int) -> tuple[tuple[int, int, int, int], float]:
    """Where the AI label shows in a decoded frame: the engine's own label matched by shape."""
    layer = _label_layer("zh-Hant", side / 720)
    height, width = layer.alpha.shape[:2]
    label = (layer.premultiplied / 255).astype(np.uint8)
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    found = cv2.matchTemplate(grey, cv2.cvtColor(label, cv2.COLOR_RGB2GRAY), cv2.TM_CCOEFF_NORMED)
    _, score, _, (x, y) = cv2.minMaxLoc(found)
    return (x, y, width, height), float(score)


def _decoded(path: Path) -> tuple[str, str, float, tuple[int, int] | None]:
    with av.open(str(path)) as container:
        duration = (container.duration or 0) / 1e6
        if container.streams.video:
            context = container.streams.video[0].codec_context
            return container.format.name, context.name, duration, (context.width, context.height)
        return container.format.name, container.streams.audio[0].codec_context.name, duration, None


def _mono(path: Path, rate: int) -> np.ndarray:
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = [
            out.to_ndarray().reshape(-1)
            for frame in container.decode(container.streams.audio[0])
            for out in resampler.resample(frame)
        ]
    return np.concatenate(chunks).astype(np.float32)


async def _verified(world: BotWorld, send: Callable[[], Awaitable[object]]) -> list[str]:
    """/verify recognises the greeting sent back, by its sound's watermark; returns its lines."""
    await world.reply_to(MEMBER, lambda: world.sandbox.send_text(MEMBER, "/verify"))
    answer = await world.reply_to(MEMBER, send, until=lambda m: m.text is not None, wait_s=30)
    assert answer.text is not None and "外婆" in answer.text
    return answer.text.split("\n")


@pytest.fixture
async def family(bot_world: BotWorld) -> BotWorld:
    await bot_world.reply_to(ADMIN, lambda: bot_world.sandbox.send_text(ADMIN, "/start"))
    await living_family(bot_world, MEMBER, GRANDPA)
    return bot_world


async def test_a_video_note_a_voice_greeting_and_a_story_video(family: BotWorld) -> None:
    world, sandbox = family, family.sandbox
    settings = settings_for(world.stand_in, world.data_dir)
    key = watermark_key(None, lambda: load_or_create_key(settings.vault_key_file))

    # A round video note: square, within Telegram's 640 px and 60 s, the face near the middle
    # of the circle and the AI label inside it.
    note = await _order(world, Shape.ROUND, remembered=Shape.LANDSCAPE)
    assert note.method == "sendVideoNote" and note.file_id is not None
    words = [m for m in await sandbox.sent_messages(MEMBER.id) if m.text and "外婆" in m.text]
    assert words, "a video note's caption goes in a message of its own"
    path = world.data_dir / "note.mp4"
    path.write_bytes(await sandbox.download(note.file_id))
    _format, codec, seconds, size = _decoded(path)
    assert codec == "h264" and size is not None and size[0] == size[1] <= 640 and seconds <= 60
    side = size[0]
    middle = frame_at(path, seconds / 2)
    faces = find_faces(middle)
    assert faces, "the subject's face shows in the note"
    face = max(faces, key=lambda f: f.width)
    centre = np.array([face.x + face.width / 2, face.y + face.height / 2])
    assert np.hypot(*(centre - side / 2)) < 0.15 * side, (centre, side)
    box, score = _label_box(middle, side)
    assert score > 0.6 and _inside_circle(box, side), (box, score)
    assert "upload_video_note" in await sandbox.chat_actions(MEMBER.id)

    # A voice message (the shape remembered from the note until changed): OGG/Opus, opening
    # with the spoken disclosure, the audio watermark readable and the AIGC label in its tags.
    voice = await _order(world, Shape.VOICE, remembered=Shape.ROUND)
    assert voice.method == "sendVoice" and voice.file_id is not None
    # Called what it is, by the member and by the grandfather whose voice it is (no face in it).
    assert voice.caption == ZH_HANT(
        "Your greeting for {recipient} is ready. This voice message was made with AI."
    ).format(recipient="外婆")
    in_voice, face_and_voice = (ZH_HANT(
        f"A greeting {what} was sent: {{festival}}, for {{recipient}}, made by {{sender}} on "
        "{date}. It is marked as made with AI. You can withdraw your consent at any time."
    ).split("：")[0] for what in ("in your voice", "with your face and voice"))  # fmt: skip
    await sandbox.wait_for_message(GRANDPA.id, lambda m: (m.text or "").startswith(in_voice))
    notices = [(m.text or "").split("：")[0] for m in await sandbox.sent_messages(GRANDPA.id)
               if "外婆" in (m.text or "")]  # fmt: skip
    assert notices == [face_and_voice, in_voice], notices
    original = await world.reply_to(
        MEMBER,
        lambda: sandbox.press_button(MEMBER, voice.message_id, ORIGINAL_PREFIX + order_of(voice)),
        until=lambda m: m.method == "sendDocument",
    )
    assert original.caption == ZH_HANT(
        "The original file, exactly as Tuanyuan made it, with its AI label and sound watermark. "
        "Share this file to keep them."
    )
    path = world.data_dir / "voice.ogg"
    path.write_bytes(await sandbox.download(voice.file_id))
    container_format, codec, seconds, size = _decoded(path)
    assert (container_format, codec, size) == ("ogg", "opus", None)
    samples = _mono(path, ANALYSIS_RATE)
    opening = [
        (a / ANALYSIS_RATE, b / ANALYSIS_RATE)
        for a, b in speech_spans(samples[: 5 * ANALYSIS_RATE])
    ]
    assert opening and opening[0][0] < DISCLOSURE_START_S + 0.5, opening
    spoken = sum(end - start for start, end in opening)
    assert 1.0 < spoken < 4.5, (spoken, DISCLOSURE["zh-Hant"])
    mark = read_audio_mark(path, key)
    assert mark.mac_valid, mark
    label = read_aigc(path)
    assert label is not None and label.ReservedCode1 == mark.payload.hex  # type: ignore[union-attr]
    lines = await _verified(
        world, lambda: sandbox.send_voice(MEMBER, path.read_bytes(), round(seconds))
    )
    assert lines[0] == ZH_HANT(
        "Made by this service: yes. Tuanyuan made this voice message with AI."
    )
    # Only the sound's mark is reported: a voice message has no picture and no manifest.
    sound = ZH_HANT("{mark}: {state}, confidence {confidence:.2f}").format(
        mark=ZH_HANT("Sound watermark"), state=ZH_HANT("verified"), confidence=1
    )
    assert lines[-1].startswith(sound.split("1.00")[0]), lines
    absent = (ZH_HANT("Picture watermark"), ZH_HANT("Content credentials (C2PA): {state}")[:4])
    assert not any(line.startswith(absent) for line in lines), lines

    # A vertical video for Stories, 9:16, with the render's still as its cover.
    story = await _order(world, Shape.VERTICAL, remembered=Shape.VOICE)
    assert story.method == "sendVideo" and (story.width, story.height) == (720, 1280)
    assert story.file_id is not None and story.cover_file_id is not None
    path = world.data_dir / "story.mp4"
    path.write_bytes(await sandbox.download(story.file_id))
    assert _decoded(path)[3] == (720, 1280)
    with Image.open(io.BytesIO(await sandbox.download(story.cover_file_id))) as cover:
        assert cover.format == "JPEG" and cover.height > cover.width
