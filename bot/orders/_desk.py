"""The order desk: the one place an order's status changes, and what each change sends.

Every step of an order (placing, payment, moderation, rendering, the preview, delivery,
refunds, revocation) is a method here that moves the order through ``_states.move`` (checked
against the table, only if no one moved it first, audited) and then makes the sends that the
new status owes, each through the ledger, so that a step repeated after a crash sends nothing
twice. ``_continue`` is the single driver: given an order's stored status it makes what is
still owed. It runs after every move and, on start-up, for every open order, which is how a
restart loses nothing.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlite_utils import Database
from telegram import Bot, InlineKeyboardMarkup, LabeledPrice, Message
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.audit import SYSTEM, AuditLog
from bot.chat_messages import delete_messages
from bot.clock import Clock, iso, parse_iso
from bot.config import Settings
from bot.delivery import CHAT_ACTION, has_caption, original_button, send_greeting, shape_of
from bot.executors import RenderCrashed
from bot.family.consent import ConsentRecord, current_consent
from bot.family.likeness import has_picture
from bot.family.spaces import (
    Role,
    SpaceStatus,
    get_space,
    members_of,
    membership_of,
    update_space,
)
from bot.i18n import Gettext, Language, gettext_for
from bot.jobs import Rendered, RenderJobs
from bot.moderation import Limit, Rules, limit_reached, load_rules, review_reasons
from bot.orders import _texts as texts
from bot.orders._language import greeting_language
from bot.orders._ledger import Ledger, Outcome, Sent
from bot.orders._progress import ProgressBoard
from bot.orders._states import OPEN, UNDER_REVIEW, move
from bot.storage import Order, OrderStatus, get_language
from bot.storage.media import forget_media
from bot.storage.orders import (
    Field,
    find_order,
    get_order,
    orders_with_status,
    queue_position,
    refunds_owed,
    update_order,
)
from bot.storage.users import first_name, zone_of
from bot.vault import Vault
from engine import RenderError, greeting_text

log = structlog.get_logger(__name__)

S = OrderStatus
MAX_RENDER_ATTEMPTS = 3
MAX_TAKES = 3  # the first render and two more from "Make it again"
STARS = "XTR"  # Telegram Stars: digital goods in Telegram are sold in Stars only
_CHAT_ACTION_EVERY_S = 4.0  # a chat action shows for about five seconds


@dataclass(frozen=True)
class Refusal:
    """Why placing an order was refused, for the member's message."""

    limit: Limit


class OrderDesk:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        clock: Clock,
        settings: Settings,
        jobs: RenderJobs,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._clock = clock
        self._settings = settings
        self._jobs = jobs
        self._ledger = Ledger(db, clock)
        self._board = ProgressBoard(lambda: self.bot, settings.progress_edit_interval_s)
        self._bot: Bot | None = None
        # Uploads of a greeting to the family's chat still waiting for Telegram's answer.
        self._uploads: dict[str, set[asyncio.Task[Sent]]] = {}

    @property
    def bot(self) -> Bot:
        assert self._bot is not None, "OrderDesk.start() must be called first"
        return self._bot

    def start(self, bot: Bot) -> None:
        """Take up every order an earlier run left open, from its stored status."""
        self._bot = bot
        for order in orders_with_status(self._db, *(OPEN - {S.SCHEDULED})):
            # A scheduled campaign greeting owes nothing until its send time: bot.campaigns
            # hands it back then (deliver_due).
            log.info("order.resumed", order_id=order.id, status=order.status)
            self._jobs.submit(order.id, self._continue(order.id))
        for order in refunds_owed(self._db):
            self._jobs.submit(order.id, self._refund(order))
        for order in self._notices_owed():
            # Ended (rejected, failed) by a run killed before it told the member: told now.
            self._jobs.submit(order.id, self._continue(order.id))

    async def close(self) -> None:
        await self._board.close()

    async def settle(self) -> None:
        """Wait for every order task and status edit (tests, the demo)."""
        await self._jobs.wait_idle()
        await self._board.settle()

    # The driver

    async def _continue(self, order_id: str) -> None:
        """Make what the order's stored status still owes; safe to run again at any time."""
        order = get_order(self._db, order_id)
        await self._ensure_status_message(order)
        order = get_order(self._db, order_id)
        if order.status == S.AWAITING_PAYMENT:
            await self._send_invoice(order)
        elif order.status == S.MODERATION:
            await self._send_card(order)
        elif order.status == S.CHANGES_REQUESTED:
            await self._send_change_request(order)
        elif order.status in (S.QUEUED, S.RENDERING):
            self._submit_render(order)
        elif order.status == S.VIDEO_REVIEW:
            await self._send_video_card(order)
        elif order.status == S.PREVIEW:
            await self._send_preview(order)
        elif order.status == S.DELIVERING:
            await self._deliver(order)
        elif order.status == S.REJECTED:
            await self._tell_rejected(order)
        elif order.status == S.FAILED:
            await self._tell_failed(order)
        await self._refund(get_order(self._db, order_id))

    def _submit_render(self, order: Order) -> None:
        """Render in the order's own task, unless another task of this order is doing it."""
        task = self._jobs.task_of(order.id)
        if task is None or task is asyncio.current_task():
            self._jobs.submit(order.id, self._render(order))

    def _drive(self, order: Order) -> None:
        """Continue the order in a task of its own (a render must not hold up the chat)."""
        self._jobs.submit(order.id, self._continue(order.id))

    def _move(
        self, order: Order, status: OrderStatus, actor: int | str, **fields: Field
    ) -> Order | None:
        moved = move(self._db, self._audit, order, status, actor, **fields)
        if moved is not None:
            self._show(moved)
        return moved

    # The status message

    async def _ensure_status_message(self, order: Order) -> None:
        # A campaign greeting is made days ahead: its preview and its delivery say it all, and
        # a status line edited on the festival day would double the broadcast's messages.
        if order.status == S.COLLECTING or order.status_message_id is not None:
            return
        if order.campaign_id is not None:
            return
        reader = self._reader(order)
        text = texts.status_line(gettext_for(reader), reader, order)
        sent = await self._ledger.once(
            order.id, "status", lambda: self.bot.send_message(order.chat_id, text)
        )
        if sent.outcome == Outcome.SENT and sent.message_id is not None:
            update_order(self._db, order.id, status_message_id=sent.message_id)
            self._board.sent(order.chat_id, sent.message_id, text)

    def _show(
        self, order: Order, detail: str | None = None, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        if order.status_message_id is None:
            return
        reader = self._reader(order)
        line = texts.status_line(gettext_for(reader), reader, order, detail)
        self._board.show(order.chat_id, order.status_message_id, line, markup)

    def _show_queue(self) -> None:
        for order in orders_with_status(self._db, S.QUEUED):
            position = queue_position(self._db, order)
            self._show(order, texts.queued_detail(self._gettext(order), position))

    # Placing, paying

    def rules(self) -> Rules:
        return load_rules(self._db)

    def discard_draft(self, draft: Order, actor: int) -> None:
        self._move(draft, S.CANCELLED, actor)

    async def place(self, draft: Order, actor: int, **fields: Field) -> Refusal | None:
        """The member confirmed the draft: limits, then payment, moderation or the queue."""
        limit = limit_reached(self._db, draft, load_rules(self._db), self._clock.now())
        if limit is not None:
            self._audit.record(actor, "order.limit_reached", order=draft.id, limit=limit)
            return Refusal(limit)
        fields |= {"placed_at": iso(self._clock.now()), "price_stars": self._settings.price_stars}
        self._audit.record(actor, "order.placed", order=draft.id, space=draft.space_id)
        if self._settings.price_stars > 0:
            order = self._move(draft, S.AWAITING_PAYMENT, actor, **fields)
        else:
            order = self._to_review_or_queue(update_order(self._db, draft.id, **fields), actor)
        if order is not None:
            await self._continue(order.id)
        return None

    async def place_campaign(self, order: Order, actor: int) -> None:
        """A family said Yes to a campaign: its greeting goes to moderation or the render queue.

        No daily limit and no invoice: the organiser's campaign is not the member's own order.
        """
        fields: dict[str, Field] = {"placed_at": iso(self._clock.now())}
        self._audit.record(actor, "order.placed", order=order.id, campaign=order.campaign_id)
        placed = self._to_review_or_queue(update_order(self._db, order.id, **fields), actor)
        if placed is not None:
            await self._continue(placed.id)

    def _to_review_or_queue(self, order: Order, actor: int | str, **fields: Field) -> Order | None:
        assert order.space_id is not None
        space = get_space(self._db, order.space_id)
        reasons = review_reasons(order, space.deceased, space.flagged, load_rules(self._db))
        now = iso(self._clock.now())
        if reasons:
            return self._move(
                order,
                S.MODERATION,
                actor,
                review_reasons=json.dumps(reasons),
                review_since=now,
                moderation_round=order.moderation_round + 1,
                **fields,
            )
        return self._move(order, S.QUEUED, actor, queued_at=now, **fields)

    async def _send_invoice(self, order: Order) -> None:
        reader = self._reader(order)
        _ = gettext_for(reader)
        await self._ledger.once(
            order.id,
            "invoice",
            lambda: self.bot.send_invoice(
                order.chat_id,
                title=_("Festival greeting"),
                description=texts.title(_, order, reader),
                payload=order.id,
                currency=STARS,
                prices=[LabeledPrice(_("Greeting video"), order.price_stars)],
            ),
        )

    def checkout_problem(self, payload: str, user_id: int, currency: str, total: int) -> str | None:
        """Why Telegram must not take this payment (in the payer's words), or None.

        Asked in the last seconds before the money moves, so consent is checked again here.
        """
        order = find_order(self._db, payload)
        _ = gettext_for(get_language(self._db, user_id))
        if order is None or order.user_id != user_id:
            return _("This order can no longer be paid. Send /orders to see your orders.")
        if order.status == S.REVOKED or self._consent(order) is None:
            return _(
                "Consent for this greeting is no longer current, so it cannot be made. "
                "Nothing was charged."
            )
        if order.status != S.AWAITING_PAYMENT:
            return _("This order can no longer be paid. Send /orders to see your orders.")
        if currency != STARS or total != order.price_stars:
            return _("The price has changed. Send /orders to see your orders.")
        return None

    async def paid(self, payload: str, user_id: int, charge_id: str, total: int) -> None:
        """Telegram took the payment: record it first, then the order goes on (or is refunded)."""
        order = find_order(self._db, payload)
        if order is None or order.user_id != user_id:
            log.warning("payment.unknown_order", user_id=user_id)
            with contextlib.suppress(TelegramError):
                await self.bot.refund_star_payment(user_id, charge_id)
            return
        if order.charge_id is not None:
            return  # the same payment reported twice
        now = iso(self._clock.now())
        self._audit.record(user_id, "payment.received", order=order.id, stars=total)
        moved = None
        if order.status == S.AWAITING_PAYMENT:
            moved = self._to_review_or_queue(order, user_id, charge_id=charge_id, paid_at=now)
        if moved is None:
            # Cancelled or revoked between the checkout and the payment: the money goes back.
            update_order(self._db, order.id, charge_id=charge_id, paid_at=now, refund_due=True)
        await self._continue(order.id)

    async def _refund(self, order: Order) -> None:
        """Give the Stars back, once: Telegram refuses a second refund of the same charge."""
        if not order.refund_due or order.refunded_at is not None or order.charge_id is None:
            return
        charge_id = order.charge_id
        sent = await self._ledger.once(
            order.id,
            "refund",
            lambda: self.bot.refund_star_payment(order.user_id, charge_id),
            idempotent=True,
        )
        refunded_before = sent.error is not None and "ALREADY_REFUNDED" in str(sent.error).upper()
        if not (sent.delivered or refunded_before):
            return
        update_order(self._db, order.id, refunded_at=iso(self._clock.now()))
        self._audit.record(SYSTEM, "payment.refunded", order=order.id, stars=order.price_stars)
        _ = self._gettext(order)
        text = _("{stars} Stars for the greeting for {recipient} were refunded.").format(
            stars=order.price_stars, recipient=order.recipient
        )
        await self._tell(order, "refund-notice", text)

    def _notices_owed(self) -> list[Order]:
        """Orders that ended undelivered whose member's notice is not known to have arrived:
        the move is committed before the message, so a kill between the two leaves these."""
        rows = self._db.query(
            "SELECT id FROM orders WHERE status IN (?, ?) AND NOT EXISTS ("
            "SELECT 1 FROM order_sends WHERE order_sends.key = orders.id || ':' || orders.status"
            " AND order_sends.state = 'done')",
            [S.REJECTED.value, S.FAILED.value],
        )
        return [get_order(self._db, row["id"]) for row in rows]

    # Moderation

    def greeting_words(self, order: Order) -> str:
        """The exact words the greeting will say: what the member confirms and moderators read."""
        assert order.space_id is not None
        space = get_space(self._db, order.space_id)
        return greeting_text(
            order.template_id or "",
            greeting_language(order, space),
            order.recipient or "",
            order.sender or "",
            space.subject_name or "",
            order.message,
        )

    def card_facts(self, order: Order) -> texts.CardFacts:
        """What a moderator judges the order by, for the chat's card and the admin web."""
        assert order.space_id is not None
        return texts.CardFacts(
            order=order,
            space=get_space(self._db, order.space_id),
            consent=self._consent(order),
            requester=first_name(self._db, order.user_id) or "?",
            member=membership_of(self._db, order.user_id),
            words=self.greeting_words(order),
            reasons=json.loads(order.review_reasons or "[]"),
        )

    def card(self, order: Order) -> tuple[str, InlineKeyboardMarkup]:
        """The moderation card as the admin chat shows it."""
        reader = self._admin_language()
        _ = gettext_for(reader)
        return texts.card_text(_, reader, self.card_facts(order)), texts.card_buttons(_, order)

    def _admin_language(self) -> Language:
        chat = self._settings.admin_chat_id
        return get_language(self._db, chat) if chat is not None else "en"

    async def _send_card(self, order: Order) -> None:
        chat = self._settings.admin_chat_id
        if chat is None:
            log.warning("moderation.no_admin_chat", order_id=order.id)
            return
        text, buttons = self.card(order)
        await self._ledger.once(
            order.id,
            f"card:{order.moderation_round}",
            lambda: self.bot.send_message(chat, text, reply_markup=buttons),
        )

    async def _send_video_card(self, order: Order) -> None:
        chat = self._settings.admin_chat_id
        if chat is None or order.video_id is None:
            log.warning("moderation.no_admin_chat", order_id=order.id)
            return
        text, buttons = self.card(order)
        _ = gettext_for(self._admin_language())
        caption = _("Finished video to review before the family sees it.") + "\n" + text
        await self._ledger.once(
            order.id,
            f"video-card:{order.take}",
            lambda: send_greeting(
                self.bot,
                order,
                chat,
                self._vault.read_bytes(order.video_id or ""),
                caption[:1024],
                buttons,
                round_as_note=False,
            ),
        )

    async def repost_cards(self, chat_id: int) -> None:
        """/queue: every order waiting for a moderator, oldest first, as cards again."""
        for order in self.waiting_for_moderation():
            text, buttons = self.card(order)
            await self.bot.send_message(chat_id, text, reply_markup=buttons)

    def waiting_for_moderation(self) -> list[Order]:
        return sorted(
            orders_with_status(self._db, *UNDER_REVIEW),
            key=lambda order: order.review_since or order.updated_at,
        )

    async def approve(self, order_id: str, admin_id: int) -> bool:
        order = get_order(self._db, order_id)
        now = iso(self._clock.now())
        if order.status == S.MODERATION:
            moved = self._move(order, S.QUEUED, admin_id, queued_at=now, reviewed_at=now)
        elif order.status == S.VIDEO_REVIEW:
            moved = self._move(order, S.PREVIEW, admin_id, reviewed_at=now)
        else:
            return False
        if moved is None:
            return False
        self._audit.record(admin_id, "moderation.approved", order=order.id, was=order.status.value)
        self._drive(moved)
        return True

    async def reject(self, order_id: str, admin_id: int, reason: str) -> bool:
        order = get_order(self._db, order_id)
        if order.status not in UNDER_REVIEW:
            return False
        moved = self._move(
            order,
            S.REJECTED,
            admin_id,
            reject_reason=reason,
            refund_due=order.charge_id is not None,
            reviewed_at=iso(self._clock.now()),
        )
        if moved is None:
            return False
        self._audit.record(admin_id, "moderation.rejected", order=order.id, reason=reason)
        self._drop_video(moved)
        await self._continue(moved.id)
        return True

    async def _tell_rejected(self, order: Order) -> None:
        _ = self._gettext(order)
        await self._tell(
            order,
            S.REJECTED.value,
            _(
                "A moderator did not accept the greeting for {recipient}: {reason}. "
                "You can start a new one by sending a photo."
            ).format(
                recipient=order.recipient, reason=texts.rejection_text(_, order.reject_reason or "")
            ),
        )

    async def ask_change(self, order_id: str, admin_id: int, note: str) -> bool:
        order = get_order(self._db, order_id)
        if order.status != S.MODERATION:
            return False
        moved = self._move(order, S.CHANGES_REQUESTED, admin_id, moderator_note=note)
        if moved is None:
            return False
        self._audit.record(admin_id, "moderation.change_requested", order=order.id)
        await self._send_change_request(moved)
        return True

    async def _send_change_request(self, order: Order) -> None:
        _ = self._gettext(order)
        text = _(
            "A moderator asks for a change to the greeting for {recipient}:\n{note}\n\n"
            "Please type the new words for the greeting, or /cancel."
        ).format(recipient=order.recipient, note=order.moderator_note)
        await self._tell(order, f"change:{order.moderation_round}", text)

    async def new_words(self, order: Order, message: str, actor: int) -> None:
        """The member's reply to "ask for a change": read by a moderator again."""
        moved = self._move(
            order,
            S.MODERATION,
            actor,
            message=message,
            review_since=iso(self._clock.now()),
            moderation_round=order.moderation_round + 1,
        )
        if moved is not None:
            await self._continue(moved.id)

    def flag_family(self, order_id: str, admin_id: int) -> None:
        order = get_order(self._db, order_id)
        assert order.space_id is not None
        update_space(self._db, order.space_id, flagged=1)
        self._audit.record(admin_id, "moderation.family_flagged", space=order.space_id)

    # Rendering

    async def _render(self, order: Order) -> None:
        if order.status == S.RENDERING:
            # Its render process went down with an earlier run of the bot: that was an attempt.
            if order.attempts >= MAX_RENDER_ATTEMPTS:
                await self._give_up(order, "the render was interrupted too many times")
                return
            requeued = self._move(order, S.QUEUED, SYSTEM)
            if requeued is None:
                return
            order = requeued
        if order.next_attempt_at is not None:
            wait = (parse_iso(order.next_attempt_at) - self._clock.now()).total_seconds()
            await asyncio.sleep(max(0.0, wait))
        self._show_queue()
        async with self._jobs.slots.held(low=order.campaign_id is not None):
            order = get_order(self._db, order.id)
            consent = self._consent(order)
            if order.status != S.QUEUED:
                return
            if consent is None:
                await self._end_for_consent(order, "no current consent before rendering")
                return
            started = self._move(
                order, S.RENDERING, SYSTEM, attempts=order.attempts + 1, next_attempt_at=None
            )
            if started is None:
                return
            self._show_queue()
            try:
                rendered = await self._rendered(started, consent)
            except (RenderError, RenderCrashed) as error:
                await self._crashed_or_failed(started, error)
                return
        await self._finished(started, rendered)

    async def _rendered(self, order: Order, consent: ConsentRecord) -> Rendered:
        def progress(stage: str, fraction: float) -> None:
            self._show(order, texts.rendering_detail(self._gettext(order), stage, fraction))

        progress("composing", 0.0)
        return await self._jobs.render(order, consent, progress)

    async def _crashed_or_failed(self, order: Order, error: Exception) -> None:
        if isinstance(error, RenderCrashed) and order.attempts < MAX_RENDER_ATTEMPTS:
            delay = self._settings.render_retry_s * 2 ** (order.attempts - 1)
            log.warning(
                "render.retrying",
                order_id=order.id,
                attempt=order.attempts,
                delay_s=delay,
                error=str(error),
            )
            retry_at = iso(self._clock.now() + timedelta(seconds=delay))
            again = self._move(order, S.QUEUED, SYSTEM, next_attempt_at=retry_at, error=str(error))
            if again is not None:
                self._drive(again)
            return
        await self._give_up(order, f"render: {error}")

    async def _finished(self, order: Order, rendered: Rendered) -> None:
        fields: dict[str, Field] = {
            "video_id": rendered.video_id,
            "thumbnail_id": rendered.thumbnail_id,
            "duration_s": rendered.duration_s,
            "width": rendered.width,
            "height": rendered.height,
            "likeness": rendered.likeness,
            "voice": rendered.voice,
            "voice_reason": rendered.voice_reason,
            "render_s": rendered.seconds,
            "error": None,
            "rendered_at": iso(self._clock.now()),
        }
        if self._consent(order) is None:
            update_order(self._db, order.id, **fields)
            await self._end_for_consent(order, "consent withdrawn during the render")
            return
        if load_rules(self._db).review_videos or order.sampled:
            fields["review_since"] = iso(self._clock.now())
            moved = self._move(order, S.VIDEO_REVIEW, SYSTEM, **fields)
        else:
            moved = self._move(order, S.PREVIEW, SYSTEM, **fields)
        if moved is None:
            # Moved meanwhile (revoked, cancelled): what was made is not kept.
            self._drop_video(update_order(self._db, order.id, **fields))
            return
        self._audit.record(SYSTEM, "render.finished", order=order.id, take=order.take)
        await self._continue(moved.id)

    async def _give_up(self, order: Order, reason: str) -> None:
        log.warning("render.failed", order_id=order.id, reason=reason)
        failed = self._move(
            order, S.FAILED, SYSTEM, error=reason, refund_due=order.charge_id is not None
        )
        if failed is not None:
            await self._continue(failed.id)

    async def _tell_failed(self, order: Order) -> None:
        _ = self._gettext(order)
        await self._tell(
            order,
            S.FAILED.value,
            _(
                "Sorry, I could not make the greeting for {recipient}. Your photo and voice "
                "notes are kept: send a photo or /start to try again."
            ).format(recipient=order.recipient),
        )
        if (chat := self._settings.admin_chat_id) is not None:
            admin_ = gettext_for(self._admin_language())
            text = admin_("A greeting failed after {attempts} attempts: {reason}").format(
                attempts=order.attempts, reason=order.error
            )
            await self._ledger.once(
                order.id, "failed-admins", lambda: self.bot.send_message(chat, text)
            )

    async def _end(self, order: Order, status: OrderStatus, reason: str) -> Order | None:
        """Nothing is sent, the payment goes back; the ended order, or None when it had moved."""
        log.warning("order.ended", order_id=order.id, status=status, reason=reason)
        ended = self._move(
            order, status, SYSTEM, error=reason, refund_due=order.charge_id is not None
        )
        if ended is not None:
            self._drop_video(ended)
            await self._withdraw_invoice(ended)
            await self._refund(ended)
        return ended

    async def material_deleted(self, order: Order) -> None:
        """Consent ended and was not given again, so the photos and voice notes an order was to
        be made from are deleted: one not made yet is cancelled and refunded, the member told
        why. A greeting already made stays as it is; a draft is left to ask for a new photo."""
        if order.status in (S.AWAITING_PAYMENT, S.MODERATION, S.CHANGES_REQUESTED, S.QUEUED):
            await self._end_for_consent(order, "consent ended and its material was deleted")

    async def _end_for_consent(self, order: Order, reason: str) -> None:
        """Consent is gone (withdrawn, or ended): the order is cancelled and the member reads
        why, and that the Stars come back: on the status message, or, for a campaign greeting,
        which has none, in a message of its own."""
        ended = await self._end(order, S.CANCELLED, reason)
        if ended is None:
            return
        assert ended.space_id is not None
        withdrawn = get_space(self._db, ended.space_id).status == SpaceStatus.REVOKED
        text = texts.consent_gone(self._gettext(ended), ended, withdrawn)
        if ended.status_message_id is None:
            await self._tell(ended, "consent-gone", text)
        else:
            self._show(ended, text)

    # Preview and delivery

    async def _send_preview(self, order: Order, step: str | None = None) -> None:
        assert order.video_id is not None and order.thumbnail_id is not None
        _ = self._gettext(order)
        takes_left = MAX_TAKES - 1 - order.take
        if order.campaign_id is not None:
            caption = texts.campaign_preview_caption(_, order, zone_of(self._db, order.user_id))
            buttons = texts.campaign_preview_buttons(_, order)
        else:
            caption = texts.preview_caption(_, order, takes_left)
            buttons = texts.preview_buttons(_, order, takes_left > 0)
        self._show(order, texts.rendering_detail(_, "uploading", 1.0))
        async with self._acting(order):
            sent = await self._send_greeting(
                order,
                step or f"preview:{order.take}",
                self._vault.read_bytes(order.video_id or ""),
                caption,
                buttons,
            )
        if sent is None:
            return  # revoked meanwhile: revoked() deleted what the upload put in the chat
        await self._after_send(order, sent, preview=True)
        if order.campaign_id is not None and (sent.delivered or sent.outcome == Outcome.UNKNOWN):
            # Waits for its send time; without a confirmed upload the delivery uploads again.
            self._move(get_order(self._db, order.id), S.SCHEDULED, SYSTEM)

    async def _after_send(self, order: Order, sent: Sent, preview: bool) -> None:
        _ = self._gettext(order)
        if sent.delivered:
            if preview:
                order = update_order(
                    self._db,
                    order.id,
                    preview_message_id=sent.message_id,
                    telegram_file_id=sent.file_id,
                )
                self._show(order)
            return
        if sent.outcome == Outcome.UNKNOWN:
            # Telegram may have shown it: the member says whether it arrived; never sent twice.
            if order.status_message_id is None:
                # A campaign greeting has no status message to ask in: a message of its own for
                # the final video (an unconfirmed preview's video is uploaded again on the day).
                if preview:
                    return
                await self._ledger.once(
                    order.id,
                    "unsure:delivery",
                    lambda: self.bot.send_message(
                        order.chat_id,
                        texts.unsure_text(_, order),
                        reply_markup=texts.resend_button(_, order),
                    ),
                )
                return
            self._show(
                order,
                _(
                    "It was sent just as the bot restarted. If you cannot see it above, "
                    "press Show it again."
                ),
                texts.resend_button(_, order),
            )
            return
        if isinstance(sent.error, Forbidden):
            self._move(
                order,
                S.UNDELIVERABLE,
                SYSTEM,
                error=str(sent.error),
                refund_due=order.charge_id is not None and preview,
            )
            await self._refund(get_order(self._db, order.id))
            return
        await self._give_up(order, f"sending: {sent.error}")

    async def send_it(self, order_id: str, user_id: int) -> bool:
        order = get_order(self._db, order_id)
        if order.user_id != user_id or order.status != S.PREVIEW:
            return False
        moved = self._move(order, S.DELIVERING, user_id)
        if moved is None:
            return False
        # In the order's own task, like every other step: the press's handler is free at once,
        # and settle() (and a revocation's cancel) see the delivery.
        self._drive(moved)
        return True

    async def deliver_due(self, order_id: str) -> OrderStatus | None:
        """A campaign greeting's send time came (the broadcaster paces these calls): deliver it.

        Returns the status it ended in, or None when it was no longer scheduled (revoked,
        cancelled, or delivered by another run): then nothing is sent.
        """
        order = get_order(self._db, order_id)
        if order.status != S.SCHEDULED:
            return None
        if self._consent(order) is None:
            # Expired since the preview (a revocation has already ended it): nothing is sent.
            await self._end_for_consent(order, "no current consent on the festival day")
            return get_order(self._db, order_id).status
        moved = self._move(order, S.DELIVERING, SYSTEM)
        if moved is None:
            return None
        await self._deliver(moved)
        return get_order(self._db, order_id).status

    async def missed(self, order_id: str, reason: str) -> bool:
        """A campaign greeting whose day ended before it could go out (its campaign was paused):
        it is never sent late; it ends as cancelled with ``reason``, its video deleted, and the
        family is told. False when it was no longer scheduled."""
        order = get_order(self._db, order_id)
        if order.status != S.SCHEDULED:
            return False
        await self._end(order, S.CANCELLED, reason)
        _ = self._gettext(order)
        text = _(
            "Sorry: your festival greeting for {recipient} could not be sent on the day, so it "
            "will not be sent. You can still order greetings yourself at any time."
        ).format(recipient=order.recipient or "")
        await self._ledger.once(
            order.id, "missed", lambda: self.bot.send_message(order.chat_id, text)
        )
        return True

    async def _deliver(self, order: Order) -> None:
        """The final message: the preview's file again (no second upload), ready to forward."""
        _ = self._gettext(order)
        # The preview's upload is reused; one that was never confirmed is uploaded again.
        video = order.telegram_file_id or self._vault.read_bytes(order.video_id or "")
        while True:
            uploaded = await self._send_greeting(
                order, "delivery", video, texts.final_caption(_, order), original_button(_, order)
            )
            if uploaded is None:
                return
            sent = uploaded
            if not isinstance(sent.error, RetryAfter):
                break
            # Flood control outlasted the client's own retries: wait as long as Telegram asks,
            # then try again (a refusal sent nothing, so the ledger allows it).
            wait = sent.error.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else wait)
        if sent.delivered or sent.outcome == Outcome.UNKNOWN:
            delivered = self._move(
                order,
                S.DELIVERED,
                SYSTEM,
                delivered_message_id=sent.message_id,
                delivered_at=iso(self._clock.now()),
                error=None if sent.delivered else "delivery not confirmed after a restart",
            )
            if delivered is not None:
                self._audit.record(SYSTEM, "render.delivered", order=order.id)
                await self._set_buttons(delivered, None)
                if not sent.delivered:
                    await self._after_send(delivered, sent, preview=False)
                await self._tell_subject(delivered)
            return
        await self._after_send(order, sent, preview=False)

    async def show_again(self, order_id: str, user_id: int, press_id: str) -> bool:
        """The member did not see a message sent just as the bot restarted: send it again,
        once per press (a press redelivered after a restart has the same id)."""
        order = get_order(self._db, order_id)
        if order.user_id != user_id or order.status not in (S.PREVIEW, S.DELIVERED):
            return False
        _ = self._gettext(order)
        if order.status == S.DELIVERED:
            assert order.video_id is not None
            sent = await self._send_greeting(
                order,
                f"delivery:again:{press_id}",
                self._vault.read_bytes(order.video_id or ""),
                texts.final_caption(_, order),
                original_button(_, order),
            )
            if sent is None:
                return False
            if sent.delivered:
                update_order(
                    self._db,
                    order.id,
                    delivered_message_id=sent.message_id,
                    telegram_file_id=sent.file_id,
                    error=None,
                )
                self._show(get_order(self._db, order.id))
            return sent.delivered
        await self._send_preview(order, f"preview:{order.take}:again:{press_id}")
        return True

    async def send_original(self, order_id: str, press_id: str, caption: str, name: str) -> bool:
        """The greeting's file exactly as made, as a document (Telegram recompresses a video,
        not a document), once per press. Through the ledger like the greeting's other sends,
        so that a revocation deletes it from the chat with them. False when there is no file."""
        order = get_order(self._db, order_id)
        if order.video_id is None or not self._vault.exists(order.video_id):
            return False
        original = self._vault.read_bytes(order.video_id)
        sent = await self._upload(
            order.id,
            f"original:{press_id}",
            lambda: self.bot.send_document(
                order.chat_id,
                original,
                filename=name,
                caption=caption,
                disable_content_type_detection=True,
            ),
        )
        return sent is not None and sent.delivered

    async def remake(self, order_id: str, user_id: int) -> bool:
        """ "Make it again": a new take of the same order, from the queue.

        Refused, the take kept for Send it, when the new one could not be made: while consent
        is not current (the render would only end the order, and the take with it), and once
        what it was made from was deleted at the end of consent (then for good: the button
        goes). False when the order has moved on."""
        order = get_order(self._db, order_id)
        if order.user_id != user_id or order.status != S.PREVIEW or order.take + 1 >= MAX_TAKES:
            return False
        assert order.space_id is not None
        _ = self._gettext(order)
        if self._consent(order) is None:
            subject = get_space(self._db, order.space_id).subject_name or "…"
            await self.bot.send_message(order.chat_id, texts.remake_without_consent(_, subject))
            return True
        if not has_picture(self._db, order.space_id, order.portrait_id):
            await self._set_buttons(order, texts.preview_buttons(_, order, may_remake=False))
            await self.bot.send_message(order.chat_id, texts.remake_without_material(_))
            return True
        await self._set_buttons(order, None)
        self._drop_video(order)
        moved = self._move(
            order,
            S.QUEUED,
            user_id,
            take=order.take + 1,
            attempts=0,
            queued_at=iso(self._clock.now()),
            video_id=None,
            thumbnail_id=None,
            preview_message_id=None,
            telegram_file_id=None,
        )
        if moved is None:
            return False
        self._drive(moved)
        return True

    async def cancel(self, order_id: str, user_id: int) -> bool:
        """The member changed their mind, even while it renders (the render is stopped first).
        Stars come back if nothing was made yet."""
        order = get_order(self._db, order_id)
        cancellable = (
            S.AWAITING_PAYMENT, S.MODERATION, S.CHANGES_REQUESTED, S.QUEUED, S.RENDERING,
            S.PREVIEW, S.SCHEDULED,
        )  # fmt: skip
        if order.user_id != user_id or order.status not in cancellable:
            return False
        await self._jobs.cancel([order.id])
        moved = self._move(
            order,
            S.CANCELLED,
            user_id,
            refund_due=order.charge_id is not None and order.status not in (S.PREVIEW, S.SCHEDULED),
        )
        if moved is None:
            return False
        await self._set_buttons(order, None)
        self._drop_video(moved)
        await self._withdraw_invoice(moved)
        await self._refund(moved)
        return True

    async def revoked(self, order: Order) -> int:
        """Consent was withdrawn (erasure already stopped the order's task): the order ends,
        and the greeting's videos in the family's chat are deleted, including one whose upload
        was still on its way, once Telegram has answered for it. Returns how many messages
        were deleted.

        An order already revoked has its messages deleted again: a crash may have come between
        its move and their deletion (``finish_revocations`` then runs this at start-up), and a
        message deleted before is only refused by Telegram."""
        order = get_order(self._db, order.id)
        if order.status != S.REVOKED:
            owed = order.charge_id is not None and order.status not in (S.DELIVERED, S.DELIVERING)
            self._move(
                order,
                S.REVOKED,
                SYSTEM,
                portrait_id=None,
                voice_id=None,
                video_id=None,
                thumbnail_id=None,
                telegram_file_id=None,
                delivered_message_id=None,
                preview_message_id=None,
                refund_due=owed or order.refund_due,
            )
        if in_flight := self._uploads.get(order.id):
            await asyncio.wait(set(in_flight))
        messages = {order.delivered_message_id, order.preview_message_id}
        messages |= set(self._ledger.video_messages(order.id))
        deleted = await delete_messages(
            self.bot, order.chat_id, {m for m in messages if m is not None}
        )
        if self._settings.admin_chat_id is not None:
            # A moderator who watched it before the family did has it in the admin chat.
            watched = set(self._ledger.review_messages(order.id))
            deleted += await delete_messages(self.bot, self._settings.admin_chat_id, watched)
            await self._withdraw_cards(order, self._settings.admin_chat_id)
        self._ledger.forget_files(order.id)
        await self._withdraw_invoice(order)
        # Also for an order revoked before: the erasure that calls this cancelled the order's
        # task, which may have been the refund the desk's start-up owed it.
        await self._refund(get_order(self._db, order.id))
        return deleted

    async def _withdraw_cards(self, order: Order, chat_id: int) -> None:
        """The order's moderation cards say it was withdrawn, without the family's words or
        buttons: a card left as it was showed the request still waiting."""
        cards = self._ledger.card_messages(order.id)
        if not cards:
            return  # never read by a moderator (a draft has no festival to name yet)
        reader = self._admin_language()
        _ = gettext_for(reader)
        withdrawn = _("Consent was withdrawn, and everything made for it deleted.")
        text = f"{texts.title(_, order, reader)}\n{withdrawn}"
        for message_id in cards:
            with contextlib.suppress(TelegramError):
                await self.bot.edit_message_text(text, chat_id, message_id)

    async def _withdraw_invoice(self, order: Order) -> None:
        """An order that ended unpaid takes its invoice out of the chat: paying it could only
        be refused now (``checkout_problem`` still refuses a checkout already open). Run again
        after a crash, the deletion is only refused by Telegram."""
        if order.charge_id is None:
            await delete_messages(
                self.bot, order.chat_id, set(self._ledger.invoice_messages(order.id))
            )

    async def _send_greeting(
        self,
        order: Order,
        step: str,
        media: bytes | str,
        caption: str,
        markup: InlineKeyboardMarkup,
    ) -> Sent | None:
        """The greeting in the family's chat in the order's shape, with the render's still as
        its cover; a video note's caption goes just before it, as a message of its own (each
        once, through the ledger)."""
        if get_order(self._db, order.id).status == S.REVOKED:
            return None
        cover = self._vault.read_bytes(order.thumbnail_id) if order.thumbnail_id else None
        if not has_caption(order):
            await self._tell(order, f"{step}:words", caption)
        return await self._upload(
            order.id,
            step,
            lambda: send_greeting(
                self.bot,
                order,
                order.chat_id,
                media,
                caption if has_caption(order) else None,
                markup,
                cover,
            ),
        )

    async def _upload(
        self, order_id: str, step: str, call: Callable[[], Awaitable[Message | bool]]
    ) -> Sent | None:
        """Send one of the greeting's videos to the family, unless the order was revoked.

        The upload runs to Telegram's answer even when the order's task is cancelled (a
        revocation stops it): Telegram may have the video either way, and ``revoked`` waits
        for that answer to delete the message it made. None when revoked before it began.
        """
        if get_order(self._db, order_id).status == S.REVOKED:
            return None
        upload = asyncio.get_running_loop().create_task(self._ledger.once(order_id, step, call))
        uploads = self._uploads.setdefault(order_id, set())
        uploads.add(upload)

        def done(task: asyncio.Task[Sent]) -> None:
            uploads.discard(task)
            if not uploads:
                self._uploads.pop(order_id, None)

        upload.add_done_callback(done)
        sent = await asyncio.shield(upload)
        return None if get_order(self._db, order_id).status == S.REVOKED else sent

    # Helpers

    def _reader(self, order: Order) -> Language:
        """The language the member reads now: a placed order keeps its own (its words, its
        voice), but what the bot tells the member about it follows their /language."""
        return get_language(self._db, order.user_id)

    def _gettext(self, order: Order) -> Gettext:
        return gettext_for(self._reader(order))

    def _consent(self, order: Order) -> ConsentRecord | None:
        if order.space_id is None:
            return None
        return current_consent(self._db, get_space(self._db, order.space_id), self._clock.now())

    def _drop_video(self, order: Order) -> None:
        """A take nobody will receive: its video and still leave the vault."""
        media = [media_id for media_id in (order.video_id, order.thumbnail_id) if media_id]
        for media_id in media:
            self._vault.delete(media_id)
        forget_media(self._db, media)

    async def _set_buttons(self, order: Order, buttons: InlineKeyboardMarkup | None) -> None:
        """The preview's buttons, as the order's step allows (None: none left to press)."""
        if order.preview_message_id is None:
            return
        with contextlib.suppress(TelegramError):
            await self.bot.edit_message_reply_markup(
                order.chat_id, order.preview_message_id, reply_markup=buttons
            )

    async def _tell_subject(self, order: Order) -> None:
        """A living subject hears of every greeting a member sent with their likeness, once, in
        their own language, with a button to withdraw consent; none when they sent it
        themselves. Campaign greetings are left out: a notice per greeting would double a
        broadcast's messages under Telegram's 30 a second (bench campaign)."""
        assert order.space_id is not None
        if order.campaign_id is not None or get_space(self._db, order.space_id).deceased:
            return
        subject = next((m for m in members_of(self._db, order.space_id)
                        if m.role == Role.SUBJECT and m.verified), None)  # fmt: skip
        if subject is None or subject.user_id == order.user_id:
            return
        reader = get_language(self._db, subject.user_id)
        text, button = texts.likeness_notice(
            gettext_for(reader), reader, order, first_name(self._db, order.user_id) or "…"
        )
        sent = await self._ledger.once(
            order.id,
            "subject_told",
            lambda: self.bot.send_message(subject.user_id, text, reply_markup=button),
        )
        if sent.outcome == Outcome.REFUSED:
            log.warning("order.subject_notice_lost", order_id=order.id)

    async def _tell(self, order: Order, step: str, text: str) -> None:
        sent = await self._ledger.once(
            order.id, step, lambda: self.bot.send_message(order.chat_id, text)
        )
        if sent.outcome == Outcome.REFUSED:
            log.warning("order.notice_lost", order_id=order.id, step=step)
        elif sent.outcome == Outcome.UNKNOWN:
            # A kill came between the intent and Telegram's answer: the message may never have
            # left. It is not sent twice; the status message, whose edit is safe to repeat,
            # says it instead.
            self._show(get_order(self._db, order.id), text)

    @contextlib.asynccontextmanager
    async def _acting(self, order: Order) -> AsyncIterator[None]:
        """ "Sending a video..." (or a video message, a voice message) in the chat for as long
        as the upload takes."""
        action = CHAT_ACTION[shape_of(order)]

        async def keep_acting() -> None:
            while True:
                with contextlib.suppress(TelegramError):
                    await self.bot.send_chat_action(order.chat_id, action)
                await asyncio.sleep(_CHAT_ACTION_EVERY_S)

        task = asyncio.get_running_loop().create_task(keep_acting())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
