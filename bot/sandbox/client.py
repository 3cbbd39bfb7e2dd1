"""Async client for the stand-in's control API: be a Telegram user, then see what the bot did."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import TypeAdapter
from telegram import Message

from bot.sandbox._control import MAX_WAIT_SECONDS
from bot.sandbox._faults import FaultKind, InjectedFault
from bot.sandbox._records import (
    CallbackAnswerRecord,
    ChatActionRecord,
    CommandsRecord,
    ErrorRecord,
    FileDownload,
    HeldResponse,
    PaymentOutcome,
    SandboxUser,
    SentMessage,
    StarCharge,
    StarRefund,
)

__all__ = ["SandboxClient", "SandboxError", "SandboxUser"]

_SLACK_SECONDS = 5.0
"""Added to the HTTP read timeout of a long poll, so the server always answers first."""

_SentMessages = TypeAdapter(list[SentMessage])
_Errors = TypeAdapter(list[ErrorRecord])
_Downloads = TypeAdapter(list[FileDownload])
_ChatActions = TypeAdapter(list[ChatActionRecord])
_Commands = TypeAdapter(list[CommandsRecord])
_CallbackAnswers = TypeAdapter(list[CallbackAnswerRecord])
_Charges = TypeAdapter(list[StarCharge])
_Refunds = TypeAdapter(list[StarRefund])
_Held = TypeAdapter(list[HeldResponse])
_Injected = TypeAdapter(list[InjectedFault])


class SandboxError(Exception):
    """The stand-in refused a user action, e.g. pressing a button the message does not have."""


class SandboxClient:
    """Talks to ``BotApiStandIn.root_url``; use as ``async with`` or call :meth:`aclose`."""

    def __init__(self, root_url: str, timeout_s: float = 5.0) -> None:
        # httpx's own default; a benchmark on a loaded machine gives the stand-in longer.
        self._http = httpx.AsyncClient(base_url=f"{root_url}/control", timeout=timeout_s)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # Acting as users. Each returns the user's message as the bot will receive it.

    async def send_text(
        self, user: SandboxUser, text: str, group_id: int | None = None, anonymous: bool = False
    ) -> Message:
        """A leading "/command" gets a bot_command entity, so CommandHandler matches it.

        With ``group_id`` (negative) the text is said in that group, ``anonymous`` as an
        anonymous admin of it."""
        fields = {"text": text, "group_id": group_id, "anonymous": anonymous or None}
        return await self._act("text", user, fields)

    async def send_photo(
        self,
        user: SandboxUser,
        data: bytes,
        caption: str | None = None,
        group_id: int | None = None,
        album: str | None = None,
    ) -> Message:
        """A photo; with ``album``, one of several chosen at once and sent together (each
        arrives as a message of its own carrying the album's ``media_group_id``)."""
        fields = {"caption": caption, "group_id": group_id, "album": album}
        return await self._act("photo", user, fields, ("photo.jpg", data))

    async def edit_text(
        self, user: SandboxUser, message_id: int, text: str, group_id: int | None = None
    ) -> Message:
        """Edit a text message the user sent: the bot receives an ``edited_message``."""
        fields = {"message_id": message_id, "text": text, "group_id": group_id}
        return await self._act("edit", user, fields)

    async def channel_post(self, channel_id: int, text: str) -> Message:
        """A post in a channel with the bot in it: an update without ``from``."""
        result = await self._call(
            "POST", "/channel_post", data={"channel_id": channel_id, "text": text}
        )
        return Message.de_json(result)

    async def send_video(
        self,
        user: SandboxUser,
        data: bytes,
        duration: int,
        width: int,
        height: int,
        caption: str | None = None,
        forwarded_from: str | None = None,
        album: str | None = None,
    ) -> Message:
        """A video; ``forwarded_from`` names whom it is forwarded from, as in the voice's;
        ``album`` as in the photo's (a photo and video album mixes both)."""
        fields = {"duration": duration, "width": width, "height": height, "caption": caption,
                  "forwarded_from": forwarded_from, "album": album}  # fmt: skip
        return await self._act("video", user, fields, ("video.mp4", data))

    async def send_video_note(
        self,
        user: SandboxUser,
        data: bytes,
        duration: int,
        length: int,
        forwarded_from: str | None = None,
    ) -> Message:
        """A round video message: square, ``length`` pixels a side."""
        fields = {"duration": duration, "length": length, "forwarded_from": forwarded_from}
        return await self._act("video_note", user, fields, ("note.mp4", data))

    async def send_animation(
        self,
        user: SandboxUser,
        data: bytes,
        duration: int,
        width: int,
        height: int,
        caption: str | None = None,
    ) -> Message:
        fields = {"duration": duration, "width": width, "height": height, "caption": caption}
        return await self._act("animation", user, fields, ("animation.mp4", data))

    async def send_voice(
        self,
        user: SandboxUser,
        data: bytes,
        duration: int,
        mime_type: str = "audio/ogg",
        forwarded_from: str | None = None,
    ) -> Message:
        """A voice message; ``forwarded_from`` names the person it is forwarded from, as
        Telegram shows someone whose account is hidden (a recording not made in this chat)."""
        fields = {"duration": duration, "mime_type": mime_type, "forwarded_from": forwarded_from}
        return await self._act("voice", user, fields, ("voice.ogg", data))

    async def send_document(
        self,
        user: SandboxUser,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
    ) -> Message:
        fields = {"file_name": file_name, "mime_type": mime_type, "caption": caption}
        return await self._act("document", user, fields, (file_name, data))

    async def send_contact(
        self, user: SandboxUser, phone_number: str, contact_user_id: int, first_name: str
    ) -> Message:
        """Share a contact card, as when forwarding someone else's contact to the bot."""
        fields = {
            "phone_number": phone_number,
            "contact_user_id": contact_user_id,
            "first_name": first_name,
        }
        return await self._act("contact", user, fields)

    async def press_button(
        self,
        user: SandboxUser,
        message_id: int,
        callback_data: str,
        group_id: int | None = None,
        forged: bool = False,
    ) -> str:
        """Press an inline button the message currently shows; returns the callback query id.

        ``forged`` sends ``callback_data`` even though no button carries it (a modified client).
        """
        fields = {"message_id": message_id, "callback_data": callback_data,
                  "group_id": group_id, "forged": forged or None}  # fmt: skip
        result = await self._call("POST", "/press", data=self._form(user, fields))
        assert isinstance(result, str)
        return result

    async def block_bot(self, user: SandboxUser, blocked: bool = True) -> None:
        """Block (or unblock) the bot: its sends to this user then fail with 403 Forbidden."""
        await self._call("POST", "/block", data=self._form(user, {"blocked": blocked}))

    async def pay_invoice(self, user: SandboxUser, message_id: int) -> PaymentOutcome:
        """Press Pay on an invoice the bot sent: the bot gets a pre_checkout_query, and only if
        it answers ok in time a successful_payment message; returns how it ended.

        Blocks until then, for up to ``Limits.pre_checkout_timeout_s``, so the bot must be
        answering updates meanwhile (another task, or the application under test).
        """
        result = await self._call(
            "POST",
            "/pay",
            data=self._form(user, {"message_id": message_id}),
            timeout=httpx.Timeout(MAX_WAIT_SECONDS + _SLACK_SECONDS),
        )
        return PaymentOutcome.model_validate(result)

    # Inspecting what the bot did

    async def sent_messages(self, chat_id: int) -> list[SentMessage]:
        return (await self._sent(chat_id, after=-1, wait=0))[1]

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, like asyncio.wait_for's
    ) -> SentMessage:
        """The first message in the chat matching ``predicate``, waiting for one to arrive.

        Already-sent messages count, so a predicate should tell a fresh reply from an old one
        (e.g. by ``message_id``). Raises TimeoutError when none matched in ``timeout`` seconds.
        """
        wanted = predicate or (lambda _: True)
        deadline = _now() + timeout
        revision = -1
        while True:
            revision, messages = await self._sent(
                chat_id,
                after=revision,
                # One long poll may last MAX_WAIT_SECONDS; longer waits take several polls.
                wait=min(MAX_WAIT_SECONDS, max(0.0, deadline - _now())),
            )
            match = next((message for message in messages if wanted(message)), None)
            if match is not None:
                return match
            if _now() >= deadline:
                raise TimeoutError(f"no matching message in chat {chat_id} after {timeout} s")

    async def download(self, file_id: str) -> bytes:
        """The bytes of any file the bot uploaded or a user sent."""
        response = await self._http.get(f"/files/{file_id}")
        if response.is_error:
            raise SandboxError(response.json()["description"])
        return response.content

    async def errors(self) -> list[ErrorRecord]:
        """Every error the Bot API answered, in order, e.g. to check a 429 really happened."""
        return _Errors.validate_python(await self._call("GET", "/errors"))

    async def file_downloads(self) -> list[FileDownload]:
        """Every file the bot fetched, in order, with the connection it came over."""
        return _Downloads.validate_python(await self._call("GET", "/downloads"))

    async def chat_actions(self, chat_id: int) -> list[str]:
        records = _ChatActions.validate_python(await self._call("GET", f"/chats/{chat_id}/actions"))
        return [record.action for record in records]

    async def commands(self) -> list[CommandsRecord]:
        return _Commands.validate_python(await self._call("GET", "/commands"))

    async def callback_answers(self) -> list[CallbackAnswerRecord]:
        return _CallbackAnswers.validate_python(await self._call("GET", "/callback_answers"))

    async def charges(self) -> list[StarCharge]:
        """Every completed Stars payment, in order."""
        return _Charges.validate_python(await self._call("GET", "/charges"))

    async def refunds(self) -> list[StarRefund]:
        """Every successful refundStarPayment, in order, so a test can assert "exactly once"."""
        return _Refunds.validate_python(await self._call("GET", "/refunds"))

    # Faults on Telegram's side

    async def hold_responses(self, method: str) -> None:
        """From now on, carry out every successful call to ``method`` (e.g. "sendVideo") but
        keep its HTTP answer back until :meth:`release_held` or until the bot hangs up.

        The call is recorded (the message is in the chat) while the bot has not learned its
        result: the moment to kill the bot in a crash test.
        """
        await self._call("POST", "/hold", data={"method": method})

    async def schedule_faults(self, method: str, kinds: list[FaultKind]) -> None:
        """The next calls to ``method`` meet these failures, one each, in order (see
        ``bot/sandbox/_faults.py`` for what each kind does and whether the call is carried out);
        ``"file"`` schedules them for the file server's downloads."""
        await self._call("POST", "/faults", data={"method": method, "kinds": json.dumps(kinds)})

    async def clear_faults(self) -> None:
        """Serve no more of the scheduled failures."""
        await self._call("POST", "/faults/clear")

    async def injected_faults(self) -> list[InjectedFault]:
        """The failures served so far, in order."""
        return _Injected.validate_python((await self._call("GET", "/faults"))["injected"])

    async def release_held(self) -> list[HeldResponse]:
        """Answer every held call and stop holding; returns what was released."""
        return _Held.validate_python(await self._call("POST", "/release"))

    async def wait_held(
        self,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, like asyncio.wait_for's
    ) -> list[HeldResponse]:
        """The calls held now, waiting for a first one; TimeoutError if none in ``timeout``.

        Once something is held, a second call answers at once with the same calls.
        """
        deadline = _now() + timeout
        while True:
            wait = min(MAX_WAIT_SECONDS, max(0.0, deadline - _now()))
            result = await self._call(
                "GET", "/held", params={"wait": wait}, timeout=httpx.Timeout(wait + _SLACK_SECONDS)
            )
            held = _Held.validate_python(result)
            if held:
                return held
            if _now() >= deadline:
                raise TimeoutError(f"no call was held after {timeout} s")

    # Plumbing

    async def _act(
        self,
        action: str,
        user: SandboxUser,
        fields: dict[str, Any],
        file: tuple[str, bytes] | None = None,
    ) -> Message:
        files = None if file is None else {"file": file}
        result = await self._call("POST", f"/{action}", data=self._form(user, fields), files=files)
        return Message.de_json(result)

    @staticmethod
    def _form(user: SandboxUser, fields: dict[str, Any]) -> dict[str, str]:
        form = {name: str(value) for name, value in fields.items() if value is not None}
        return form | {"user": json.dumps(dataclasses.asdict(user))}

    async def _sent(self, chat_id: int, after: int, wait: float) -> tuple[int, list[SentMessage]]:
        result = await self._call(
            "GET",
            f"/chats/{chat_id}/sent",
            params={"after": after, "wait": wait},
            timeout=httpx.Timeout(wait + _SLACK_SECONDS),
        )
        return result["revision"], _SentMessages.validate_python(result["messages"])

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        body = response.json()
        if not body["ok"]:
            raise SandboxError(body["description"])
        return body["result"]


def _now() -> float:
    return asyncio.get_running_loop().time()
