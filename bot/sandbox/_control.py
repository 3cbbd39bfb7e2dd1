"""The control API: tests and demos act as Telegram users and inspect what the bot did.

User actions arrive encoded like Bot API calls (form fields, ``user`` as JSON, the media as a
``file`` part), so they share the Bot API's decoding and get the same kind of validation.
Besides users, tests reach Telegram's own side here: holding answers back for crash tests.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.sandbox._botapi import is_method, json_error, json_ok
from bot.sandbox._errors import ApiError, bad_request
from bot.sandbox._files import FileStore
from bot.sandbox._holds import ResponseHolds
from bot.sandbox._limits import Limits
from bot.sandbox._params import Json, parse_params, utf16_length
from bot.sandbox._records import JsonObject, SandboxUser
from bot.sandbox._wire import Upload, request_parameters
from bot.sandbox._world import World

MAX_WAIT_SECONDS = 60.0
_FORWARDED_AGE_S = 3600


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    user: Annotated[SandboxUser, Json]
    group_id: Annotated[int, Field(lt=0)] | None = None
    """Said in this group (Telegram's group ids are negative) instead of the private chat."""
    anonymous: bool = False
    """Sent as the group itself, as an anonymous group admin does (no ``from`` of their own)."""
    forwarded_from: str | None = None
    """Forwarded from another chat, from someone Telegram names only (their account hidden)."""


class _Text(_Action):
    text: str


class _Photo(_Action):
    file: Upload
    caption: str | None = None
    album: str | None = None
    """Sent as one of an album (Telegram's ``media_group_id``): several photos chosen at once."""


class _Video(_Action):
    file: Upload
    duration: int
    width: int
    height: int
    caption: str | None = None
    album: str | None = None


class _VideoNote(_Action):
    file: Upload
    duration: int
    length: int


class _Animation(_Action):
    file: Upload
    duration: int
    width: int
    height: int
    file_name: str = "animation.mp4"
    caption: str | None = None


class _Voice(_Action):
    file: Upload
    duration: int
    mime_type: str = "audio/ogg"


class _Document(_Action):
    file: Upload
    file_name: str
    mime_type: str
    caption: str | None = None


class _Contact(_Action):
    phone_number: str
    contact_user_id: int
    first_name: str


class _Press(_Action):
    message_id: int
    callback_data: str
    forged: bool = False
    """Data the message's buttons never carried, as a modified client can send."""


class _Edit(_Action):
    message_id: int
    text: str


class _ChannelPost(BaseModel):
    channel_id: Annotated[int, Field(lt=0)]
    text: str


class _Block(_Action):
    blocked: bool


class _Pay(_Action):
    message_id: int


class _Hold(BaseModel):
    method: str


class _WaitQuery(BaseModel):
    wait: Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS)] = 0


class _SentQuery(_WaitQuery):
    after: int = -1


_A = TypeVar("_A", bound=BaseModel)


class Control:
    """The users' side of the chats, which the real Telegram would get from its apps."""

    def __init__(
        self, world: World, files: FileStore, holds: ResponseHolds, limits: Limits
    ) -> None:
        self._world = world
        self._files = files
        self._holds = holds
        self._limits = limits

    def routes(self) -> list[web.RouteDef]:
        world = self._world
        return [
            web.post("/control/text", self._action(_Text, self._text)),
            web.post("/control/photo", self._action(_Photo, self._photo)),
            web.post("/control/video", self._action(_Video, self._video)),
            web.post("/control/video_note", self._action(_VideoNote, self._video_note)),
            web.post("/control/animation", self._action(_Animation, self._animation)),
            web.post("/control/voice", self._action(_Voice, self._voice)),
            web.post("/control/document", self._action(_Document, self._document)),
            web.post("/control/contact", self._action(_Contact, self._contact)),
            web.post("/control/press", self._action(_Press, self._press)),
            web.post("/control/edit", self._action(_Edit, self._edit)),
            web.post("/control/channel_post", self._action(_ChannelPost, self._channel_post)),
            web.post("/control/block", self._action(_Block, self._block)),
            web.post("/control/pay", self._action(_Pay, self._pay)),
            web.post("/control/hold", self._action(_Hold, self._hold)),
            web.post("/control/release", self._release),
            web.get("/control/held", self._held),
            web.get("/control/chats/{chat_id:-?\\d+}/sent", self._sent),
            web.get("/control/chats/{chat_id:-?\\d+}/actions", self._actions),
            web.get("/control/files/{file_id}", self._download),
            web.get("/control/errors", self._records(lambda: world.errors)),
            web.get("/control/downloads", self._records(lambda: world.downloads)),
            web.get("/control/commands", self._records(world.commands)),
            web.get("/control/callback_answers", self._records(lambda: world.callback_answers)),
            web.get("/control/charges", self._records(lambda: world.charges)),
            web.get("/control/refunds", self._records(lambda: world.refunds)),
        ]

    def _action(
        self, model: type[_A], act: Callable[[_A], Awaitable[Any]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            try:
                async with request_parameters(request, self._limits.max_upload_bytes) as raw:
                    result = await act(parse_params(model, raw, self._limits))
            except ApiError as error:
                return json_error(error)
            return json_ok(result)

        return handle

    def _records(
        self, records: Callable[[], list[Any]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(_: web.Request) -> web.Response:
            return json_ok([record.model_dump(mode="json") for record in records()])

        return handle

    async def _text(self, action: _Text) -> JsonObject:
        content: JsonObject = {"text": action.text}
        if action.text.startswith("/"):
            # Telegram marks a leading command, "@botname" suffix included, as an entity.
            command = action.text.split(maxsplit=1)[0]
            entity = {"type": "bot_command", "offset": 0, "length": utf16_length(command)}
            content["entities"] = [entity]
        return await self._message(action, content)

    async def _photo(self, action: _Photo) -> JsonObject:
        content: JsonObject = {"photo": await self._files.photo(action.file, self._limits)}
        if action.album is not None:
            content["media_group_id"] = action.album
        return await self._message(action, content | _caption(action.caption))

    async def _video(self, action: _Video) -> JsonObject:
        video = await self._file(action.file, "videos", "video/mp4")
        video |= {"duration": action.duration, "width": action.width, "height": action.height}
        content: JsonObject = {"video": video} | _caption(action.caption)
        if action.album is not None:
            content["media_group_id"] = action.album
        return await self._message(action, content)

    async def _video_note(self, action: _VideoNote) -> JsonObject:
        note = await self._file(action.file, "video_notes", "video/mp4")
        note |= {"duration": action.duration, "length": action.length}
        note.pop("mime_type")  # Telegram's VideoNote has none
        return await self._message(action, {"video_note": note})

    async def _animation(self, action: _Animation) -> JsonObject:
        """A GIF as Telegram sends it: converted to MP4, and doubled as a document."""
        stored = await self._file(action.file, "animations", "video/mp4")
        document = stored | {"file_name": action.file_name}
        animation = document | {"duration": action.duration, "width": action.width,
                                "height": action.height}  # fmt: skip
        content = {"animation": animation, "document": document} | _caption(action.caption)
        return await self._message(action, content)

    async def _voice(self, action: _Voice) -> JsonObject:
        voice = await self._file(action.file, "voice", action.mime_type)
        content = {"voice": voice | {"duration": action.duration}}
        return await self._message(action, content)

    async def _document(self, action: _Document) -> JsonObject:
        document = await self._file(action.file, "documents", action.mime_type)
        content = {"document": document | {"file_name": action.file_name}}
        return await self._message(action, content | _caption(action.caption))

    async def _contact(self, action: _Contact) -> JsonObject:
        contact = {
            "phone_number": action.phone_number,
            "first_name": action.first_name,
            "user_id": action.contact_user_id,
        }
        return await self._message(action, {"contact": contact})

    async def _message(self, action: _Action, content: JsonObject) -> JsonObject:
        if action.forwarded_from is not None:
            # The original message's date: forwarding keeps it (here, an hour before now).
            origin = {"type": "hidden_user", "sender_user_name": action.forwarded_from,
                      "date": int(time.time()) - _FORWARDED_AGE_S}  # fmt: skip
            content = content | {"forward_origin": origin}
        return await self._world.user_message(
            action.user, content, action.group_id, anonymous=action.anonymous
        )

    async def _press(self, action: _Press) -> str:
        return await self._world.press_button(
            action.user, action.message_id, action.callback_data, action.group_id, action.forged
        )

    async def _edit(self, action: _Edit) -> JsonObject:
        return await self._world.edit_user_message(
            action.user, action.group_id, action.message_id, action.text
        )

    async def _channel_post(self, action: _ChannelPost) -> JsonObject:
        return await self._world.channel_post(action.channel_id, action.text)

    async def _block(self, action: _Block) -> bool:
        self._world.set_blocked(action.user, action.blocked)
        return True

    async def _pay(self, action: _Pay) -> JsonObject:
        timeout = self._limits.pre_checkout_timeout_s
        outcome = await self._world.pay(action.user, action.message_id, timeout)
        return outcome.model_dump(mode="json")

    async def _hold(self, action: _Hold) -> bool:
        if not is_method(action.method):
            raise bad_request(f"the Bot API has no method {action.method!r}")
        self._holds.arm(action.method)
        return True

    async def _release(self, _: web.Request) -> web.Response:
        released = await self._holds.release()
        return json_ok([held.model_dump(mode="json") for held in released])

    async def _held(self, request: web.Request) -> web.Response:
        """The calls being held; with ``wait``, a long poll for the first one."""
        try:
            query = parse_params(_WaitQuery, request.query, self._limits)
        except ApiError as error:
            return json_error(error)
        held = await self._holds.wait_held(query.wait)
        return json_ok([record.model_dump(mode="json") for record in held])

    async def _file(self, upload: Upload, folder: str, mime_type: str) -> JsonObject:
        stored = await self._files.media(upload, folder, None)
        return stored.to_telegram() | {"mime_type": mime_type}

    async def _sent(self, request: web.Request) -> web.Response:
        """What the bot sent to a chat; with ``wait``, a long poll for a change after ``after``."""
        try:
            query = parse_params(_SentQuery, request.query, self._limits)
        except ApiError as error:
            return json_error(error)
        chat_id = int(request.match_info["chat_id"])
        revision, sent = await self._world.wait_sent(chat_id, query.after, query.wait)
        messages = [record.model_dump(mode="json") for record in sent]
        return json_ok({"revision": revision, "messages": messages})

    async def _actions(self, request: web.Request) -> web.Response:
        chat_id = int(request.match_info["chat_id"])
        actions = [record for record in self._world.chat_actions if record.chat_id == chat_id]
        return json_ok([record.model_dump(mode="json") for record in actions])

    async def _download(self, request: web.Request) -> web.StreamResponse:
        stored = self._files.get(request.match_info["file_id"])
        if stored is None:
            return json_error(bad_request("invalid file_id"))
        return web.FileResponse(self._files.local_path(stored))


def _caption(caption: str | None) -> JsonObject:
    return {"caption": caption} if caption else {}
