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
        "no_face": _(
            "I cannot find a face in that photo. Please send a clear photo of them looking "
            "at the camera, with nothing covering their face."
        ),
        "face_too_small": _(
            "Their face is too small in that photo ({face_px} pixels across; I need "
            "{minimum}). Please send a photo taken closer to them."
        ),
        "blurry": _(
            "That photo is blurred. Please send a sharper one, where their face is in focus."
        ),
        "too_dark": _(
            "That photo is too dark to see their face. Please send one taken in good light."
        ),
        "backlit": _(
            "The light is behind them, so their face is in shadow. Please send a photo with "
            "the light falling on their face."
        ),
        "eyes_closed": _(
            "Their eyes are closed in that photo. Please send one where their eyes are open."
        ),
        "eyes_covered": _(
            "Their eyes are hidden, perhaps by sunglasses. Please send a photo where their "
            "eyes can be seen."
        ),
        "face_covered": _(
            "Part of their face is covered. Please send a photo where their nose and mouth "
            "can be seen, without a mask or a hand in front."
        ),
        "several_faces": _(
            "I can see {count} faces in that picture. Please send a photo of just the one "
            "person, or crop it to them."
        ),
        "not_a_video": _("I cannot play that file as a video. Please send an MP4 or MOV video."),
        "video_no_face": _(
            "I cannot find a face anywhere in that video. Please send a video in which they "
            "look toward the camera, or a photo."
        ),
        "video_several_faces": _(
            "I can see {count} faces throughout that video. Please send a video of just the "
            "one person, or a photo of them."
        ),
        "video_too_long": _(
            "That video is {seconds:.0f} s long; I can use at most {maximum:.0f} s. "
            "Please send a shorter part."
        ),
        "video_too_short": _(
            "That video is only {seconds:.1f} s long. Please send one of at least "
            "{minimum:.0f} s, or a photo."
        ),
        "video_too_large_dimensions": _(
            "That video's picture is too large for me to process safely. Please send a video "
            "of at most 7680 × 4320 pixels, as your phone's camera records it."
        ),
        "truncated": _("That video seems cut off before its end. Please send it again."),
        "too_little_speech": _(
            "I can hear only {speech_s:.1f} s of speech; I need at least {minimum:.0f} s "
            "and {recommended:.0f} s works best. Please send a recording of them talking."
        ),
        "unreadable_audio": _(
            "I cannot play that recording. Please record a voice note in Telegram and send it."
        ),
        "too_short": _(
            "That recording is only {seconds:.1f} s long. "
            "Please send at least {minimum:.0f} s of them speaking."
        ),
        "not_a_document": _(
            "I cannot read that file as a proof document. Please send a photo or a PDF."
        ),
        "too_long": _(
            "That recording is {seconds:.0f} s long; I can use at most {maximum:.0f} s. "
            "Please send a shorter part."
        ),
        "made_here": _(
            "That is a greeting Tuanyuan made. A new greeting needs a photo or video of them "
            "as your family took it: please send one of those."
        ),
        "too_slow": _(
            "That file takes me too long to read. Please send a shorter recording or a smaller "
            "file, as your phone's camera or Telegram records it."
        ),
    }
    messages["unreadable_video"] = messages["no_video"] = messages["not_a_video"]
    template = messages.get(error.code)
    if template is None:
        return _("I cannot use that file. Please try another one.")
    try:
        return template.format(**details)
    except (KeyError, ValueError):
        return _("I cannot use that file. Please try another one.")
