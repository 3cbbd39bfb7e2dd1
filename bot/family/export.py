"""/mydata: everything the bot holds about one member, as a ZIP they can keep.

The archive holds ``data.json`` (their account, membership, orders and the consent records they
signed) and, decrypted, every file they sent. The person in a family's greetings gets what is
kept *of them* too, whoever sent it: the photos, videos and recordings of their face and voice,
and the greetings made from them (festival, recipient, words, who made each, when). It is sent
as one document, so it must fit Telegram's 50 MB upload limit; when the files would not fit,
the archive carries the data and says which files were left out.

Each archive sent is remembered (``exports``): it holds copies of the files, so when they are
deleted (the member leaves, consent is withdrawn or ends) the archive is deleted from the chat
too, as far as Telegram lets a bot delete its messages.
"""

import io
import json
import mimetypes
import zipfile
from datetime import datetime
from typing import Any

from sqlite_utils import Database
from telegram import Bot

from bot.chat_messages import delete_messages
from bot.clock import iso
from bot.family.spaces import Role, membership_of
from bot.services import Services
from bot.storage import MediaKind
from bot.storage.media import media_where
from bot.vault import VaultError

# Telegram's limit for files a bot uploads.
MAX_EXPORT_BYTES = 50 * 1024 * 1024


def _rows(services: Services, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in services.db.query(sql, params)]


def export_member(services: Services, user_id: int) -> tuple[bytes, int]:
    """The ZIP archive, and how many of the member's files were left out to fit the limit."""
    data: dict[str, Any] = {
        "user": _rows(services, "SELECT * FROM users WHERE id = ?", [user_id]),
        "memberships": _rows(services, "SELECT * FROM members WHERE user_id = ?", [user_id]),
        "spaces_owned": _rows(services, "SELECT * FROM spaces WHERE owner_id = ?", [user_id]),
        "orders": _rows(services, "SELECT * FROM orders WHERE user_id = ?", [user_id]),
        "consent_records_signed": _rows(
            services, "SELECT * FROM consent_records WHERE actor_id = ?", [user_id]
        ),
        "consent_notices_received": _rows(
            services, "SELECT * FROM consent_notices WHERE user_id = ?", [user_id]
        ),
    }
    files: list[tuple[dict[str, Any], bytes]] = []
    # A speaker profile is derived from the whole family's notes: not one member's upload.
    sent = media_where(services.db, "uploaded_by = ? AND kind != ?", [user_id, MediaKind.PROFILE])
    data["uploads"] = _listed(services, sent, "uploads", files)
    member = membership_of(services.db, user_id)
    if member is not None and member.role == Role.SUBJECT:
        of_them = media_where(
            services.db,
            f"space_id = ? AND kind IN ({', '.join('?' for _ in _OF_THEM)}) AND uploaded_by != ?",
            [member.space_id, *_OF_THEM, user_id],
        )
        data["of_you"] = _listed(services, of_them, "of-you", files)
        data["greetings_of_you"] = _rows(
            services,
            "SELECT o.template_id, o.recipient, o.message, o.sender, o.status, o.created_at, "
            "o.delivered_at, u.first_name AS made_by FROM orders o LEFT JOIN users u "
            "ON u.id = o.user_id WHERE o.space_id = ? AND o.placed_at IS NOT NULL "
            "ORDER BY o.created_at",
            [member.space_id],
        )
    budget = MAX_EXPORT_BYTES - len(json.dumps(data, ensure_ascii=False).encode()) - 64 * 1024
    left_out = 0
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for entry, content in files:
            if len(content) > budget:
                entry["file"] = None
                left_out += 1
                continue
            budget -= len(content)
            bundle.writestr(entry["file"], content)
        data["files_left_out_to_fit_telegram_limit"] = left_out
        bundle.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
    return archive.getvalue(), left_out


# What shows or sounds like the person: their photos, videos and recordings, and the greetings.
_OF_THEM = (MediaKind.PORTRAIT, MediaKind.FOOTAGE, MediaKind.VOICE, MediaKind.VIDEO)


def _listed(
    services: Services,
    rows: list[dict[str, Any]],
    folder: str,
    files: list[tuple[dict[str, Any], bytes]],
) -> list[dict[str, Any]]:
    """The rows' entries for data.json, each naming its file in ``folder``, the files read from
    the vault into ``files`` (an entry whose file is gone names none)."""
    entries = []
    for number, row in enumerate(rows, 1):
        extension = mimetypes.guess_extension(str(row["mime_type"])) or ".bin"
        name = f"{folder}/{number:03d}-{row['kind']}{extension}"
        entry = {key: row[key] for key in ("kind", "mime_type", "created_at")} | {"file": name}
        entries.append(entry)
        try:
            files.append((entry, services.vault.read_bytes(str(row["id"]))))
        except VaultError:
            entry["file"] = None
    return entries


def remember_export(
    db: Database, user_id: int, space_id: str | None, message_id: int, now: datetime
) -> None:
    """An archive is in the member's chat, holding copies of files of their space's."""
    db.table("exports").insert(
        {
            "user_id": user_id,
            "message_id": message_id,
            "space_id": space_id,
            "sent_at": iso(now),
        },
        ignore=True,
    )


async def delete_exports(db: Database, bot: Bot, where: str, params: list[Any]) -> int:
    """Delete the archives matched from their chats and forget them; returns how many went."""
    rows = list(db.query(f"SELECT user_id, message_id FROM exports WHERE {where}", params))
    deleted = 0
    for row in rows:
        deleted += await delete_messages(bot, int(row["user_id"]), {int(row["message_id"])})
    db.execute(f"DELETE FROM exports WHERE {where}", params)
    return deleted
