"""What a member has to do next, in words: shared by the flows and by authorisation refusals.

Whenever the bot refuses or a member seems lost, the answer ends with the one next step that
moves them forward, so nobody is left guessing what "not verified" means.
"""

from bot.family.spaces import Member, MemberStatus, Space
from bot.i18n import Gettext


def verification_step_text(_: Gettext, member: Member, space: Space) -> str:
    subject = space.subject_name or ""
    steps = {
        MemberStatus.CONTACT: _(
            "To verify you, please share your phone number with the button below. "
            "It must be the number of this Telegram account."
        ),
        MemberStatus.RELATION: _(
            "How are you related to {subject}? Type it, for example: granddaughter."
        ),
        MemberStatus.PROOF: _(
            "Please send a proof document that shows your relation to {subject} and that they "
            "have died (a death certificate or household register), as a photo or a PDF."
        ),
        MemberStatus.REVIEW: _(
            "A moderator is reviewing your proof document. I will tell you as soon as they have."
        ),
        MemberStatus.STATEMENT: _(
            "Please read the phrase I sent you aloud as a voice or video message. "
            "Send /consent to get a new phrase."
        ),
        MemberStatus.VERIFIED: _("You are verified in the family space for {subject}."),
    }
    return steps[member.status].format(subject=subject)


def start_over_text(_: Gettext, space: Space) -> str:
    """How a family whose consent was withdrawn makes greetings again."""
    if space.deceased:
        return _(
            "To start over, a verified relative authorises again with /consent; then send the "
            "photo and voice notes again."
        )
    return _(
        "To start over, {subject} gives consent again with /consent; then send the photo and "
        "voice notes again."
    ).format(subject=space.subject_name or "")
