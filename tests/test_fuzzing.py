"""The fuzz targets of ``bot.fuzzing``, each with a few examples (``tuanyuan bench fuzz`` runs
many), and the failing examples they found, kept as explicit cases."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import av
import numpy as np
import pytest

from bot import fuzzing
from bot.clock import SystemClock
from bot.family.spaces import InviteProblem, InviteRefused, redeem_invite
from bot.orders import CANCEL_PREFIX, REMAKE_PREFIX, RESEND_PREFIX, SEND_PREFIX
from bot.sandbox import BotApiStandIn, SandboxUser
from bot.storage import open_database
from engine.provenance import detect
from engine.provenance._video import read_mark_from_luma
from tests.auxil.bot import BotWorld
from tests.auxil.sandbox import TOKEN

KEY = bytes(32)

_EXAMPLES = {
    "deep links": 30,
    "button data": 25,
    "template JSON": 40,
    "stand-in parameters": 80,
    "stand-in requests": 40,
    "detector arrays": 6,
    "detector files": 20,
}


@pytest.mark.parametrize("target", fuzzing.TARGETS, ids=lambda t: t.name.replace(" ", "-"))
def test_fuzz_target_holds(target: fuzzing.Target) -> None:
    assert target.run(_EXAMPLES[target.name]) >= 1


# --- what the fuzzing found, kept as explicit cases ---


def test_a_payload_with_a_final_newline_is_malformed(tmp_path: Path) -> None:
    """``^...$`` matched "0\\n": it was looked up as if well formed (found by "deep links")."""
    db = open_database(tmp_path / "bot.sqlite3")
    with pytest.raises(InviteRefused) as refused:
        redeem_invite(db, SystemClock(), "0\n", user_id=5)
    assert refused.value.problem == InviteProblem.MALFORMED


def test_a_tiny_black_video_is_not_ours(tmp_path: Path) -> None:
    """A picture dark and flat everywhere under 4 pixels high had no rows left after trimming
    its "bars" (IndexError; found by "detector arrays" as a 1 x 1 mean of 0)."""
    assert not read_mark_from_luma(np.zeros((1, 1), np.float32), KEY).mac_valid
    video = tmp_path / "black.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 2, 2, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((2, 2, 3), np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    assert not detect(video, KEY).made_by_service


async def test_forged_preview_buttons_name_no_order(bot_world: BotWorld) -> None:
    """Send it / Make it again / Cancel / Show it again naming an order that does not exist
    were a NotFoundError and "something went wrong" (found by "button data"); now the same
    answer as any stale preview button."""
    sandbox, user = bot_world.sandbox, SandboxUser(7301, "Mallory", language_code="en")
    menu = await bot_world.reply_to(user, lambda: sandbox.send_text(user, "/language"))
    for prefix in (SEND_PREFIX, REMAKE_PREFIX, CANCEL_PREFIX, RESEND_PREFIX):

        async def press(data: str = prefix + "x") -> None:
            await sandbox.press_button(user, menu.message_id, data, forged=True)

        moved_on = await bot_world.reply_to(user, press)
        assert moved_on.text == "This greeting has moved on: send /orders to see where it is."


async def test_unparsable_bodies_and_an_empty_method_get_telegrams_json(
    stand_in: BotApiStandIn,
) -> None:
    """A form body that is not UTF-8 was a 500 and a traceback, an empty method aiohttp's plain
    404 (found by "stand-in requests"); Telegram answers both in its JSON."""
    url = f"{stand_in.api_base_url}{TOKEN}"
    async with aiohttp.ClientSession() as session:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        async with session.post(f"{url}/sendMessage", data=b"text=\x9b", headers=form) as bad:
            assert bad.status == 400
            assert (await bad.json())["description"] == "Bad Request: can't parse request body"
        async with session.post(f"{url}/") as empty:
            assert empty.status == 404
            assert await empty.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
