"""A local stand-in for the Telegram Bot API, for tests and offline demos.

The real python-telegram-bot client talks to :class:`BotApiStandIn` over HTTP exactly as it
would to Telegram (same wire format, same error responses, same limits), while
:class:`SandboxClient` plays the users on the other side and reports what the bot did.
"""

from bot.sandbox._faults import FAULT_KINDS, FaultKind, InjectedFault
from bot.sandbox._limits import Limits
from bot.sandbox._records import (
    CallbackAnswerRecord,
    CommandsRecord,
    ErrorRecord,
    FileDownload,
    HeldResponse,
    MessageEdit,
    PaymentOutcome,
    SandboxUser,
    SentInvoice,
    SentMessage,
    StarCharge,
    StarRefund,
)
from bot.sandbox._server import BotApiStandIn, run_forever
from bot.sandbox.client import SandboxClient, SandboxError

__all__ = [
    "FAULT_KINDS",
    "BotApiStandIn",
    "CallbackAnswerRecord",
    "CommandsRecord",
    "ErrorRecord",
    "FaultKind",
    "FileDownload",
    "HeldResponse",
    "InjectedFault",
    "Limits",
    "MessageEdit",
    "PaymentOutcome",
    "SandboxClient",
    "SandboxError",
    "SandboxUser",
    "SentInvoice",
    "SentMessage",
    "StarCharge",
    "StarRefund",
    "run_forever",
]
