"""Telegram file ids of the template picker's preview stills, one per template, language and
aspect: a still is rendered and uploaded the first time anyone pages to it, and resent by its
file id ever after (Telegram keeps the file; the bot keeps nothing but the id)."""

from sqlite_utils import Database


def still_file_id(db: Database, template_id: str, language: str, aspect: str) -> str | None:
    rows = list(
        db.query(
            "SELECT file_id FROM preview_stills WHERE template_id = ? AND language = ? "
            "AND aspect = ?",
            [template_id, language, aspect],
        )
    )
    return str(rows[0]["file_id"]) if rows else None


def remember_still(
    db: Database, template_id: str, language: str, aspect: str, file_id: str
) -> None:
    db.table("preview_stills").upsert(
        {"template_id": template_id, "language": language, "aspect": aspect, "file_id": file_id},
        pk=("template_id", "language", "aspect"),
    )
