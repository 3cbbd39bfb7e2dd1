"""/mydata: everything the bot holds about one member, as a ZIP they can keep.

The archive holds ``data.json`` (their account, membership, orders and the consent records they
signed) and, decrypted, every file they sent. It is sent as one document, so it must fit
Telegram's 50 MB upload limit; when the files would not fit, the archive carries the data and
says which files were left out.
"""

import io
import json
import mimetypes
import zipfile
from typing import Any

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
        "uploads": [],
    }
    files: list[tuple[dict[str, Any], bytes]] = []
    # A speaker profile is derived from the whole family's notes: not one member's upload.
    sent = media_where(services.db, "uploaded_by = ? AND kind != ?", [user_id, MediaKind.PROFILE])
    for number, row in enumerate(sent, 1):
        extension = mimetypes.guess_extension(str(row["mime_type"])) or ".bin"
        name = f"uploads/{number:03d}-{row['kind']}{extension}"
        entry = {key: row[key] for key in ("kind", "mime_type", "created_at")} | {"file": name}
        data["uploads"].append(entry)
        try:
            files.append((entry, services.vault.read_bytes(str(row["id"]))))
        except VaultError:
            entry["file"] = None
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
