"""Telegram file ids of the template picker's preview stills, one per template, language and
aspect: a still is rendered and uploaded the first time anyone pages to it, and resent by its
file id ever after (Telegram keeps the file; the bot keeps nothing but the id).

Each id is kept with the digest of the picture it was uploaded as: after an upgrade that
redraws a template (its art, its words, the label), the picture made now differs, and the old
id is not shown for it.
"""

from sqlite_utils import Database


def still_file_id(
    db: Database, template_id: str, language: str, aspect: str, digest: str
) -> str | None:
    """The file id of the still uploaded for this template, language and aspect, if it was
    the picture with ``digest``."""
    rows = list(
        db.query(
            "SELECT file_id FROM preview_stills WHERE template_id = ? AND language = ? "
            "AND aspect = ? AND digest = ?",
            [template_id, language, aspect, digest],
        )
    )
    return str(rows[0]["file_id"]) if rows else None


def remember_still(
    db: Database, template_id: str, language: str, aspect: str, digest: str, file_id: str
) -> None:
    db.table("preview_stills").upsert(
        {
            "template_id": template_id,
            "language": language,
            "aspect": aspect,
            "digest": digest,
            "file_id": file_id,
        },
        pk=("template_id", "language", "aspect"),
    )
