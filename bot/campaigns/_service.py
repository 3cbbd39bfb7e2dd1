"""Campaigns as a service: inviting families when the time comes, taking their answers, making
their greetings as low-priority orders and handing each to the broadcaster at its send time.

One background task (``start``) looks at the calendar clock every ``campaign_tick_s`` seconds:
it invites every eligible family not invited yet, and delivers every scheduled greeting whose
moment has come. Everything it decides is read from the database, so a restart on the
festival day picks up exactly where the last run stopped: what was sent is in the ledger.
"""

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlite_utils import Database
from telegram import Bot
from telegram.error import Forbidden, TelegramError

from bot.audit import SYSTEM, AuditLog
from bot.campaigns import _store as store
from bot.campaigns import _texts as texts
from bot.campaigns._broadcast import Broadcaster
from bot.campaigns._store import Answer, Audience, Campaign, Invitation, Step
from bot.clock import Clock, iso, parse_iso
from bot.family.consent import current_consent
from bot.family.likeness import usable_clips
from bot.family.spaces import Space, active_spaces, get_space, membership_of
from bot.i18n import gettext_for
from bot.orders import OrderDesk
from bot.storage import MediaKind, Order, OrderStatus, get_language
from bot.storage.media import media_where
from bot.storage.orders import new_order, orders_where
from bot.storage.users import opt_out, opted_out, time_zone_of, zone_of
from bot.ticker import Ticker

log = structlog.get_logger(__name__)


def send_moment(campaign: Campaign, zone: ZoneInfo) -> datetime:
    """The festival day at the campaign's send time, in the requester's own time zone."""
    return datetime.combine(campaign.day, campaign.local_time, zone)


def sampled(number: int, percent: int) -> bool:
    """Whether the ``number``-th greeting of a campaign (from 1) goes to a moderator: exactly
    ``percent`` of every hundred, spread evenly, the same after any restart."""
    return number * percent // 100 > (number - 1) * percent // 100


def day_over(order: Order, zone: ZoneInfo) -> datetime:
    """The end of the festival day where the requester lives: the catch-up window of a greeting
    whose send time passed while nobody sent it (a paused campaign, a bot that was down). Until
    then it goes out late; after, it is missed: a festival greeting the day after is no greeting.
    """
    assert order.send_at is not None
    day = parse_iso(order.send_at).astimezone(zone).date()
    return datetime.combine(day + timedelta(days=1), time(), zone)


MISSED = "missed: the festival day ended before it could be sent"


@dataclass(frozen=True)
class Family:
    space: Space
    user_id: int  # who is invited: the owner, or whoever opened the campaign's link


class Campaigns:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        clock: Clock,
        desk: OrderDesk,
        tick_s: float,
        broadcaster: Broadcaster | None = None,
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._desk = desk
        self._ticker = Ticker("campaigns", tick_s, self.tick)
        self._broadcaster = broadcaster or Broadcaster()
        self._dispatched: set[str] = set()
        self._bot: Bot | None = None

    def start(self, bot: Bot) -> None:
        self._bot = bot
        self._ticker.start()

    async def close(self) -> None:
        await self._ticker.close()
        await self._broadcaster.close()

    async def tick(self) -> None:
        """Invite whoever is due an invitation, then deliver whatever is due now."""
        now = self._clock.now()
        for campaign in store.all_campaigns(self._db):
            if campaign.paused_at is None and campaign.invitations_open(now):
                await self._invite(campaign, now)
        due = orders_where(
            self._db,
            "campaign_id IS NOT NULL AND status = ? AND send_at <= ?"
            " AND campaign_id NOT IN (SELECT id FROM campaigns WHERE paused_at IS NOT NULL)",
            [OrderStatus.SCHEDULED.value, iso(now)],
        )
        for order in sorted(due, key=lambda o: o.send_at or ""):
            if order.id in self._dispatched:
                continue
            if now >= day_over(order, zone_of(self._db, order.user_id)):
                await self._desk.missed(order.id, MISSED)
                continue
            self._dispatched.add(order.id)
            await self._broadcaster.send(order.chat_id, functools.partial(self._deliver, order))

    async def _deliver(self, order: Order) -> None:
        try:
            # Paused after this greeting was handed to the broadcaster: held back with the rest.
            if order.campaign_id not in store.paused_campaigns(self._db):
                await self._desk.deliver_due(order.id)
        finally:
            self._dispatched.discard(order.id)

    async def settle(self) -> None:
        """Wait for every delivery handed to the broadcaster (tests, the benchmark)."""
        await self._broadcaster.drain()

    # Creating

    def create(self, admin_id: int, **fields: object) -> Campaign:
        campaign = store.create_campaign(self._db, self._clock, admin_id, **fields)
        self._audit.record(admin_id, "campaign.created", campaign=campaign.id,
                           template=campaign.template_id, day=campaign.festival_date)  # fmt: skip
        return campaign

    def join(self, campaign: Campaign, user_id: int) -> None:
        store.join(self._db, self._clock, campaign, user_id)

    # Inviting

    def _families(self, campaign: Campaign) -> list[Family]:
        if campaign.audience == Audience.CONSENTED:
            candidates = [Family(space, space.owner_id) for space in active_spaces(self._db)]
        else:
            candidates = []
            for user_id in store.joiners(self._db, campaign.id):
                member = membership_of(self._db, user_id)
                if member is not None:
                    candidates.append(Family(get_space(self._db, member.space_id), user_id))
        invited = store.invited_spaces(self._db, campaign.id)
        now = self._clock.now()
        chosen: dict[str, Family] = {}
        for family in candidates:
            space_id = family.space.id
            if space_id in invited or space_id in chosen or not self._eligible(family, now):
                continue
            chosen[space_id] = family
        return list(chosen.values())

    def _eligible(self, family: Family, now: datetime) -> bool:
        """A verified member of an active family with a current consent and a picture of the
        subject, who has not asked never to receive campaigns."""
        member = membership_of(self._db, family.user_id)
        return (
            member is not None
            and member.verified
            and member.space_id == family.space.id
            and not opted_out(self._db, family.user_id)
            and current_consent(self._db, family.space, now) is not None
            and self._picture(family.space.id) is not None
        )

    def _picture(self, space_id: str) -> str | None:
        """The family's newest photo of the subject; None when only clips show them (or none)."""
        portraits = media_where(self._db, "space_id = ? AND kind = ?",
                                [space_id, MediaKind.PORTRAIT.value])  # fmt: skip
        if portraits:
            return str(portraits[-1]["id"])
        return "" if usable_clips(self._db, space_id) else None

    async def _invite(self, campaign: Campaign, now: datetime) -> None:
        families = self._families(campaign)
        if not families:
            return
        store.mark_invitations_started(self._db, campaign, now)
        for family in families:
            invitation = Invitation(campaign_id=campaign.id, space_id=family.space.id,
                                    user_id=family.user_id, chat_id=family.user_id,
                                    state=Answer.SENDING)  # fmt: skip
            # Written before the call: an invitation whose answer a crash lost is not repeated.
            store.write_invitation(self._db, invitation)
            language = get_language(self._db, family.user_id)
            _ = gettext_for(language)
            text = texts.invitation_text(_, language, campaign, family.space)
            buttons = texts.invitation_buttons(_, campaign)
            try:
                await self._broadcaster.paced(
                    family.user_id,
                    functools.partial(
                        self.bot.send_message, family.user_id, text, reply_markup=buttons
                    ),
                )
            except Forbidden:
                invitation.state = Answer.UNREACHABLE
            except TelegramError as error:
                log.warning("campaign.invitation_unconfirmed", error=str(error))
                continue  # may have arrived: left as "sending", never sent twice
            else:
                invitation.state = Answer.INVITED
            invitation.invited_at = iso(self._clock.now())
            store.write_invitation(self._db, invitation)
        self._audit.record(SYSTEM, "campaign.invited", campaign=campaign.id, families=len(families))

    @property
    def bot(self) -> Bot:
        assert self._bot is not None, "Campaigns.start() must be called first"
        return self._bot

    # Answers

    def answer(self, campaign_id: str, user_id: int, choice: Answer) -> Invitation | None:
        """Yes, Not this time, or Never: recorded once; None when there is nothing to answer."""
        invitation = self._invitation_of(campaign_id, user_id)
        if invitation is None:
            return None
        now = iso(self._clock.now())
        step = None
        if choice == Answer.ACCEPTED:
            step = Step.ZONE if time_zone_of(self._db, user_id) is None else Step.RECIPIENT
        if not store.answer(self._db, invitation, choice, answered_at=now, step=step):
            return None
        if choice == Answer.OPTED_OUT:
            opt_out(self._db, user_id)
        self._audit.record(user_id, f"campaign.{choice.value}", campaign=campaign_id)
        return store.get_invitation(self._db, invitation.campaign_id, invitation.space_id)

    def _invitation_of(self, campaign_id: str, user_id: int) -> Invitation | None:
        member = membership_of(self._db, user_id)
        if member is None:
            return None
        invitation = store.get_invitation(self._db, campaign_id, member.space_id)
        return invitation if invitation is not None and invitation.user_id == user_id else None

    def answering(self, user_id: int) -> Invitation | None:
        """The invitation this person said Yes to and still owes an answer for, while its
        festival day has not ended anywhere: one left half-answered past it is asked no more
        and takes no typed text (a greeting after the festival is no greeting)."""
        invitation = store.answering(self._db, user_id)
        if invitation is None:
            return None
        campaign = store.get_campaign(self._db, invitation.campaign_id)
        last_day = self._clock.now().date() - timedelta(days=1)  # the day ends later westward
        return invitation if campaign is not None and campaign.day >= last_day else None

    def campaign(self, campaign_id: str) -> Campaign | None:
        return store.get_campaign(self._db, campaign_id)

    def next_step(self, invitation: Invitation, **fields: object) -> Invitation:
        """Store one answer after Yes and move to the next question."""
        order = (Step.ZONE, Step.RECIPIENT, Step.MESSAGE, Step.DONE)
        assert invitation.step is not None
        following = order[order.index(invitation.step) + 1]
        return store.update_invitation(self._db, invitation, step=following.value, **fields)

    async def place(self, invitation: Invitation, spoken_language: str) -> Order | None:
        """Every answer is in: the family's greeting becomes an order, made at low priority.

        None when the family can no longer have one (consent gone, no picture left).
        """
        campaign = store.get_campaign(self._db, invitation.campaign_id)
        assert campaign is not None
        space = get_space(self._db, invitation.space_id)
        consent = current_consent(self._db, space, self._clock.now())
        picture = self._picture(space.id)
        if consent is None or picture is None:
            return None
        number = self._db.table("orders").count_where("campaign_id = ?", [campaign.id]) + 1
        moment = send_moment(campaign, zone_of(self._db, invitation.user_id))
        order = new_order(
            self._db, invitation.user_id, invitation.chat_id,
            get_language(self._db, invitation.user_id), space.id,
            campaign_id=campaign.id, template_id=campaign.template_id,
            recipient=invitation.recipient, message=invitation.message,
            portrait_id=picture or None, consent_id=consent.id,
            spoken_language=spoken_language, send_at=iso(moment),
            sampled=sampled(number, campaign.sample_percent),
        )  # fmt: skip
        store.update_invitation(self._db, invitation, order_id=order.id)
        await self._desk.place_campaign(order, invitation.user_id)
        return order

    # Reporting

    def report(self, campaign: Campaign) -> "texts.Report":
        orders = orders_where(self._db, "campaign_id = ?", [campaign.id])
        return texts.Report(campaign, store.invitations_of(self._db, campaign.id), orders)

    # Pausing

    def pause(self, campaign_id: str, admin_id: int) -> bool:
        """Hold the campaign back: no invitation and no greeting goes out until it is resumed.
        False when it is unknown or already paused."""
        return self._pause_or_resume(campaign_id, admin_id, iso(self._clock.now()))

    def resume(self, campaign_id: str, admin_id: int) -> bool:
        """What fell due meanwhile goes out at the next tick if its festival day still lasts
        where the family lives (:func:`day_over`), else it is reported as missed."""
        return self._pause_or_resume(campaign_id, admin_id, None)

    def _pause_or_resume(self, campaign_id: str, admin_id: int, paused_at: str | None) -> bool:
        if not store.set_paused(self._db, campaign_id, paused_at, admin_id if paused_at else None):
            return False
        action = "campaign.paused" if paused_at else "campaign.resumed"
        self._audit.record(admin_id, action, campaign=campaign_id)
        return True

    def reschedule(self, campaign_id: str, admin_id: int, day: date, send_time: str) -> bool:
        """Move the festival day or send time; False once invitations have gone out."""
        if not store.reschedule(self._db, campaign_id, day.isoformat(), send_time):
            return False
        self._audit.record(admin_id, "campaign.rescheduled", campaign=campaign_id,
                           day=day.isoformat(), time=send_time)  # fmt: skip
        return True

    def campaigns(self) -> list[Campaign]:
        """Every campaign, the festival nearest first."""
        return sorted(store.all_campaigns(self._db), key=lambda c: (c.festival_date, c.id))
