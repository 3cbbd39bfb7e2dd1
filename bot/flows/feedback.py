"""Turning the engine's ingest verdicts into messages a family member can act on.

The engine reports a stable code and the numbers behind it; wording and language belong here,
next to the rest of the bot's text.
"""

from bot.i18n import Gettext
from engine import IngestError


def ingest_error_text(_: Gettext, error: IngestError) -> str:
    details = error.details
    messages = {
        "empty_file": _("That file is empty. Please send it again."),
        "not_an_image": _("I cannot read that file as a photo. Please send a JPEG or PNG photo."),
        "too_large_dimensions": _(
            "That photo is too large for me to process safely. "
            "Please send a photo of at most 7680 × 4320 pixels."
        ),
        "too_small": _(
            "That photo is too small to show a face well. "
            "Please send a photo at least 256 pixels on its shorter side."
        ),
        "unreadable_audio": _(
            "I cannot play that recording. Please record a voice note in Telegram and send it."
        ),
        "too_short": _(
            "That recording is only {seconds:.1f} s long. "
            "Please send at least {minimum:.0f} s of them speaking."
        ),
        "too_long": _(
            "That recording is {seconds:.0f} s long; I can use at most {maximum:.0f} s. "
            "Please send a shorter part."
        ),
    }
    template = messages.get(error.code)
    if template is None:
        return _("I cannot use that file. Please try another one.")
    try:
        return template.format(**details)
    except (KeyError, ValueError):
        return _("I cannot use that file. Please try another one.")
