"""The Bot API itself: routing ``/bot<token>/<method>`` to one handler per method.

A handler is registered by the parameter model it takes (whose class name is the method name),
so adding a method is one model and one decorated function, and validation, flood control and
error reporting happen around every handler in one place.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import av
from aiohttp import web
from pydantic import BaseModel

from bot.sandbox._errors import ApiError, bad_request
from bot.sandbox._faults import ConnectionDropped, FaultSchedule, lose_answer, refuse_before
from bot.sandbox._files import FileStore
from bot.sandbox._flood import FloodControl
from bot.sandbox._holds import ResponseHolds
from bot.sandbox._limits import Limits
from bot.sandbox._params import (
    AnswerCallbackQuery,
    AnswerPreCheckoutQuery,
    DeleteMessage,
    DeleteWebhook,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    GetMyCommands,
    GetUpdates,
    GetWebhookInfo,
    Media,
    RefundStarPayment,
    Send,
    SendAudio,
    SendChatAction,
    SendDocument,
    SendInvoice,
    SendMedia,
    SendMessage,
    SendPhoto,
    SendVideo,
    SendVideoNote,
    SendVoice,
    SetMyCommands,
    SetWebhook,
    parse_params,
)
from bot.sandbox._records import (
    CallbackAnswerRecord,
    ChatActionRecord,
    CommandsRecord,
    ErrorRecord,
    FileDownload,
    HeldResponse,
    JsonObject,
    SentInvoice,
)
from bot.sandbox._wire import Upload, request_parameters
from bot.sandbox._world import Webhook, World

_WELL_FORMED_TOKEN = re.compile(r"\d+:[\w-]+")
_OCTET_STREAM = "application/octet-stream"

_Handler = TypeVar("_Handler", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True, slots=True)
class _Route:
    model: type[BaseModel]
    handler: Callable[[BotApi, Any], Awaitable[Any]]


_ROUTES: dict[str, _Route] = {}


def _method(model: type[BaseModel]) -> Callable[[_Handler], _Handler]:
    def register(handler: _Handler) -> _Handler:
        # Telegram matches method names case-insensitively.
        _ROUTES[model.__name__.lower()] = _Route(model, handler)
        return handler

    return register


DOWNLOADS = "file"
"""The file server (/file/bot<token>/...) in error records and fault schedules: downloads are
no Bot API method, but they fail as Telegram's calls do (a 502 while it restarts, a reset)."""


def is_method(name: str) -> bool:
    return name.lower() in _ROUTES


def _probe_video(upload: Upload) -> tuple[int, int, float]:
    """Width, height and seconds of an uploaded video, as Telegram reads them on arrival."""
    upload.file.seek(0)
    try:
        # Telegram reads a video whatever its tags' encoding (cameras write GBK, Latin-1...).
        with av.open(upload.file, mode="r", metadata_errors="replace") as container:
            stream = container.streams.video[0]
            seconds = float(container.duration or 0) / av.time_base
            return stream.codec_context.width, stream.codec_context.height, seconds
    except (av.FFmpegError, IndexError) as error:
        raise bad_request("wrong video note: not a video") from error
    finally:
        upload.file.seek(0)


def method_name(params: BaseModel) -> str:
    name = type(params).__name__
    return name[0].lower() + name[1:]


def json_ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def json_error(error: ApiError) -> web.Response:
    return web.json_response(error.payload(), status=error.code)


class BotApi:
    """Answers Bot API calls the way Telegram does, including how and when it refuses them."""

    def __init__(
        self,
        token: str,
        limits: Limits,
        world: World,
        files: FileStore,
        holds: ResponseHolds,
        faults: FaultSchedule,
    ) -> None:
        self._token = token
        self._faults = faults
        self._limits = limits
        self._world = world
        self._files = files
        self._holds = holds
        self._flood = FloodControl(limits)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            self._check_token(request.match_info["token"])
            route = _ROUTES.get(method.lower())
            if route is None:
                raise ApiError(404, "Not Found")
            async with request_parameters(request, self._limits.max_upload_bytes) as raw:
                params = parse_params(route.model, raw, self._limits)
                fault = self._faults.take(method)
                refuse_before(fault, request)
                if isinstance(params, Send):
                    self._world.reachable(params.chat_id)
                    self._flood.admit(params.chat_id)
                result = await route.handler(self, params)
            await lose_answer(fault, request)
            await self._holds.hold(request, _held(params, result))
        except ApiError as error:
            return self._refuse(request, method, error)
        except ConnectionDropped:
            return web.Response(status=499)  # written to a closed connection: nobody reads it
        return json_ok(result)

    async def download(self, request: web.Request) -> web.StreamResponse:
        try:
            self._check_token(request.match_info["token"])
            stored = self._files.by_path(request.match_info["file_path"])
            if stored is None:
                raise ApiError(404, "Not Found")
            refuse_before(self._faults.take(DOWNLOADS), request)
        except ApiError as error:
            return self._refuse(request, DOWNLOADS, error)
        except ConnectionDropped:
            return web.Response(status=499)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        port = int(peer[1]) if peer else 0
        self._world.downloads.append(FileDownload(file_path=stored.file_path, client_port=port))
        return web.FileResponse(self._files.local_path(stored))

    def _check_token(self, token: str) -> None:
        # Telegram answers 404 to a token that cannot be one and 401 to a plausible wrong one.
        if token != self._token:
            well_formed = _WELL_FORMED_TOKEN.fullmatch(token) is not None
            raise ApiError(401, "Unauthorized") if well_formed else ApiError(404, "Not Found")

    def _refuse(self, request: web.Request, method: str, error: ApiError) -> web.Response:
        # An answer to a client that already hung up (typically the long poll PTB abandons on
        # shutdown, then ends with a conflict) reaches nobody, so it is no error to report.
        if request.transport is not None and not request.transport.is_closing():
            self._world.errors.append(
                ErrorRecord(method=method, code=error.code, description=error.description)
            )
        return json_error(error)

    # Bot and updates

    @_method(GetMe)
    async def _get_me(self, _: GetMe) -> JsonObject:
        return self._world.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    @_method(GetUpdates)
    async def _get_updates(self, p: GetUpdates) -> list[JsonObject]:
        return await self._world.get_updates(p.offset, p.limit, p.timeout, p.allowed_updates)

    @_method(SetWebhook)
    async def _set_webhook(self, p: SetWebhook) -> bool:
        # Unlike Telegram, plain http and any port are accepted: receivers run on 127.0.0.1.
        webhook = Webhook(p.url, p.secret_token, p.max_connections) if p.url else None
        self._world.set_webhook(webhook, p.allowed_updates, p.drop_pending_updates)
        return True

    @_method(DeleteWebhook)
    async def _delete_webhook(self, p: DeleteWebhook) -> bool:
        self._world.set_webhook(None, None, p.drop_pending_updates)
        return True

    @_method(GetWebhookInfo)
    async def _get_webhook_info(self, _: GetWebhookInfo) -> JsonObject:
        return self._world.webhook_info()

    @_method(SetMyCommands)
    async def _set_my_commands(self, p: SetMyCommands) -> bool:
        self._world.set_commands(
            CommandsRecord(
                scope=p.scope.model_dump(exclude_none=True),
                language_code=p.language_code,
                commands=[command.model_dump() for command in p.commands],
            )
        )
        return True

    @_method(GetMyCommands)
    async def _get_my_commands(self, p: GetMyCommands) -> list[JsonObject]:
        return self._world.get_commands(p.scope.model_dump(exclude_none=True), p.language_code)

    # Sending

    @_method(SendMessage)
    async def _send_message(self, p: SendMessage) -> JsonObject:
        return await self._world.bot_message(
            p.chat_id, method_name(p), {"text": p.text}, _markup(p)
        )

    @_method(SendPhoto)
    async def _send_photo(self, p: SendPhoto) -> JsonObject:
        return await self._send_media(p, {"photo": await self._files.photo(p.photo, self._limits)})

    @_method(SendVideo)
    async def _send_video(self, p: SendVideo) -> JsonObject:
        video = await self._file_object(p.video, "videos", ".mp4", "video/mp4")
        video |= {"duration": p.duration or 0, "width": p.width or 0, "height": p.height or 0}
        video |= await self._thumbnail(p.thumbnail, video["file_id"])
        if p.cover is not None:
            video["cover"] = await self._files.photo(p.cover, self._limits)
        return await self._send_media(p, {"video": video}, p.supports_streaming)

    @_method(SendVideoNote)
    async def _send_video_note(self, p: SendVideoNote) -> JsonObject:
        """Telegram plays a video note in a circle: a square MP4 of at most 640 px and 60 s."""
        if isinstance(p.video_note, str) and "://" in p.video_note:
            raise bad_request("sending video notes by a URL is currently unsupported")
        limits = self._limits
        if p.length is not None and p.length > limits.max_video_note_length:
            raise bad_request("VIDEO_NOTE_LENGTH_INVALID")
        if isinstance(p.video_note, Upload):
            width, height, seconds = await asyncio.to_thread(_probe_video, p.video_note)
            if width != height or width > limits.max_video_note_length:
                raise bad_request("wrong video note dimensions")
            if seconds > limits.max_video_note_duration_s:
                raise bad_request("VIDEO_NOTE_DURATION_INVALID")
        note = await self._file_object(p.video_note, "video_notes", ".mp4", "video/mp4")
        for key in ("file_name", "mime_type"):  # Telegram's VideoNote has neither
            note.pop(key, None)
        note |= {"length": p.length or 0, "duration": p.duration or 0}
        note |= await self._thumbnail(p.thumbnail, note["file_id"])
        return await self._world.bot_message(
            p.chat_id, method_name(p), {"video_note": note}, _markup(p)
        )

    @_method(SendDocument)
    async def _send_document(self, p: SendDocument) -> JsonObject:
        document = await self._file_object(p.document, "documents", None, _OCTET_STREAM)
        document |= await self._thumbnail(p.thumbnail, document["file_id"])
        return await self._send_media(p, {"document": document})

    @_method(SendVoice)
    async def _send_voice(self, p: SendVoice) -> JsonObject:
        voice = await self._file_object(p.voice, "voice", ".oga", "audio/ogg")
        voice.pop("file_name", None)  # Telegram's Voice object has no file name
        return await self._send_media(p, {"voice": voice | {"duration": p.duration or 0}})

    @_method(SendAudio)
    async def _send_audio(self, p: SendAudio) -> JsonObject:
        audio = await self._file_object(p.audio, "music", ".mp3", "audio/mpeg")
        audio |= {"duration": p.duration or 0} | await self._thumbnail(
            p.thumbnail, audio["file_id"]
        )
        audio |= {key: value for key in ("performer", "title") if (value := getattr(p, key))}
        return await self._send_media(p, {"audio": audio})

    async def _send_media(
        self, p: SendMedia, content: JsonObject, supports_streaming: bool | None = None
    ) -> JsonObject:
        if p.caption:
            content["caption"] = p.caption
        return await self._world.bot_message(
            p.chat_id, method_name(p), content, _markup(p), supports_streaming
        )

    async def _file_object(
        self, source: Media, folder: str, suffix: str | None, mime_type: str
    ) -> JsonObject:
        """The file's JSON object; ``mime_type`` stands in for Telegram's content sniffing."""
        stored = await self._files.media(source, folder, suffix)
        if not isinstance(source, Upload):
            return stored.to_telegram() | {"mime_type": mime_type}
        declared = source.content_type
        return stored.to_telegram() | {
            "file_name": source.filename,
            "mime_type": mime_type if declared in ("", _OCTET_STREAM) else declared,
        }

    async def _thumbnail(self, source: Media | None, file_id: str) -> JsonObject:
        """The thumbnail uploaded with the file, else the one it had when first sent: a file
        sent again by its file_id keeps its thumbnail, as on Telegram."""
        # Telegram only takes a freshly uploaded thumbnail and silently drops anything else.
        thumbnail = await self._files.thumbnail(source, file_id)
        return {} if thumbnail is None else {"thumbnail": thumbnail}

    @_method(SendInvoice)
    async def _send_invoice(self, p: SendInvoice) -> JsonObject:
        invoice = SentInvoice(
            title=p.title,
            description=p.description,
            payload=p.payload,
            currency=p.currency,
            total_amount=p.total_amount,
        )
        content = {
            "invoice": invoice.model_dump(exclude={"payload"})
            | {"start_parameter": p.start_parameter}
        }
        return await self._world.bot_message(
            p.chat_id, method_name(p), content, _markup(p), invoice=invoice
        )

    # Changing what was sent

    @_method(EditMessageText)
    async def _edit_message_text(self, p: EditMessageText) -> JsonObject:
        return await self._world.edit(p.chat_id, p.message_id, method_name(p), p.text, _markup(p))

    @_method(EditMessageReplyMarkup)
    async def _edit_message_reply_markup(self, p: EditMessageReplyMarkup) -> JsonObject:
        return await self._world.edit(p.chat_id, p.message_id, method_name(p), None, _markup(p))

    @_method(EditMessageMedia)
    async def _edit_message_media(self, p: EditMessageMedia) -> JsonObject:
        self._world.media_to_edit(p.chat_id, p.message_id)
        photo = await self._files.photo(p.media.media, self._limits)
        return await self._world.edit(
            p.chat_id, p.message_id, method_name(p), None, _markup(p),
            media={"photo": photo}, caption=p.media.caption,
        )  # fmt: skip

    @_method(DeleteMessage)
    async def _delete_message(self, p: DeleteMessage) -> bool:
        await self._world.delete(p.chat_id, p.message_id, self._limits.max_delete_age_s)
        return True

    # Replies without messages

    @_method(AnswerCallbackQuery)
    async def _answer_callback_query(self, p: AnswerCallbackQuery) -> bool:
        self._world.answer_callback(CallbackAnswerRecord.model_validate(p.model_dump()))
        return True

    @_method(SendChatAction)
    async def _send_chat_action(self, p: SendChatAction) -> bool:
        self._world.reachable(p.chat_id)
        self._world.chat_actions.append(ChatActionRecord(chat_id=p.chat_id, action=p.action))
        return True

    # Payments

    @_method(AnswerPreCheckoutQuery)
    async def _answer_pre_checkout_query(self, p: AnswerPreCheckoutQuery) -> bool:
        await self._world.answer_pre_checkout(p.pre_checkout_query_id, p.ok, p.error_message)
        return True

    @_method(RefundStarPayment)
    async def _refund_star_payment(self, p: RefundStarPayment) -> bool:
        await self._world.refund(p.user_id, p.telegram_payment_charge_id)
        return True

    # Files

    @_method(GetFile)
    async def _get_file(self, p: GetFile) -> JsonObject:
        stored = self._files.get(p.file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > self._limits.max_download_bytes:
            raise bad_request("file is too big")
        return stored.to_telegram() | {"file_path": stored.file_path}


def _held(params: BaseModel, result: Any) -> HeldResponse:
    """What a test sees of a held call: its method, chat and the message it made or changed."""
    message_id = result.get("message_id") if isinstance(result, dict) else None
    chat_id = getattr(params, "chat_id", None)
    return HeldResponse(method=method_name(params), chat_id=chat_id, message_id=message_id)


def _markup(
    params: Send | EditMessageText | EditMessageReplyMarkup | EditMessageMedia,
) -> JsonObject | None:
    markup = params.reply_markup
    return None if markup is None else markup.model_dump(mode="json", exclude_none=True)
