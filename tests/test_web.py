"""The admin web in a real headless Chromium, against the whole bot served as in production.

One bot, one stand-in and one browser serve the whole module (its tests run in order on one
event loop): a moderator signs in through the link the bot sends, decides greeting requests
and a proof document in the browser, watches a finished render play, and checks the audit
chain; the family hears each decision in the chat. Screenshots of every page, on a phone and
on a desktop, go to tests/artefacts/web.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta

import aiohttp
import av
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page
from prometheus_client.parser import text_string_to_metric_families

from bot.admin_sessions import LOGIN_TTL, issue_login
from bot.campaigns import Answer, Invitation
from bot.campaigns._store import write_invitation
from bot.family.spaces import membership_of
from bot.i18n import gettext_for
from bot.orders import rejection_text
from bot.sandbox import SandboxUser
from bot.storage import OrderStatus, set_language
from bot.storage.orders import get_order, orders_where
from bot.web import PAGES
from engine import template_title
from tests.auxil.bot import ADMIN
from tests.auxil.family import (
    PDF_PROOF,
    confirm,
    create_space,
    is_preview,
    living_family,
    prepare_order,
    says,
    send_it,
    verify_relative,
)
from tests.auxil.web import ARTEFACTS, DESKTOP, PHONE, WebWorld, chromium, login_link, served_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = gettext_for("en")
MEMBER = SandboxUser(7101, "Ann", language_code="en")
SUBJECT = SandboxUser(7102, "Grandpa", language_code="en")
RELATIVE = SandboxUser(7103, "Mei", language_code="zh-hant")
STRANGER = SandboxUser(7104, "Eve", language_code="en")
RENDER_WAIT_S = 120.0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def web(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebWorld]:
    async with served_bot(tmp_path_factory.mktemp("web") / "bot-data") as served:
        yield served


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Browser]:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    async with chromium(tmp_path_factory.mktemp("chromium")) as launched:
        yield launched


async def _signed_in(web: WebWorld, browser: Browser, viewport: dict[str, int]) -> BrowserContext:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    secret = await login_link(web.world, ADMIN)
    await page.goto(f"{web.served.web_url}/login/{secret}")
    await page.click("form.login button")
    await page.wait_for_url("**/queue")
    await page.close()
    return context


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(web: WebWorld, browser: Browser) -> AsyncIterator[Page]:
    """The moderator's desktop tab, signed in once for the module."""
    context = await _signed_in(web, browser, DESKTOP)
    yield await context.new_page()
    await context.close()


async def _shoot(page: Page, name: str) -> None:
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


async def _refused(page: Page, url: str, status: int) -> str:
    response = await page.goto(url)
    assert response is not None and response.status == status
    return await page.inner_text("p.refused")


async def test_a_moderator_signs_in_once_with_the_link_the_bot_sent(
    web: WebWorld, browser: Browser
) -> None:
    world = web.world
    await world.reply_to(ADMIN, lambda: world.sandbox.send_text(ADMIN, "/start"))
    context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    page = await context.new_page()
    secret = await login_link(world, ADMIN)
    await page.goto(f"{web.served.web_url}/login/{secret}")
    await _shoot(page, "login-desktop")
    await page.click("form.login button")
    await page.wait_for_url("**/queue")
    (cookie,) = await context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (
        "tuanyuan_session",
        True,
        "Strict",
        False,  # served over http here; https (TUANYUAN_WEB_URL) makes it Secure
    )
    stored = [path.read_bytes() for path in world.data_dir.rglob("*") if path.is_file()]
    assert not any(secret.encode() in data for data in stored)  # only its digest is kept

    # The same link again, in another browser: refused, and no session comes of it.
    other = await browser.new_context()
    stranger_tab = await other.new_page()
    await stranger_tab.goto(f"{web.served.web_url}/login/{secret}")
    await stranger_tab.click("form.login button")
    assert "used already, has expired" in await stranger_tab.inner_text("p.refused")
    assert await other.cookies() == []
    assert "not signed in" in await _refused(stranger_tab, f"{web.served.web_url}/queue", 401)

    # A link older than five minutes.
    late = await login_link(world, ADMIN)
    world.clock.advance(LOGIN_TTL + timedelta(seconds=1))
    await stranger_tab.goto(f"{web.served.web_url}/login/{late}")
    await stranger_tab.click("form.login button")
    assert "used already, has expired" in await stranger_tab.inner_text("p.refused")

    # Someone who is no moderator gets no link, and a link made for them does not sign in.
    denial = await world.reply_to(
        STRANGER, lambda: world.sandbox.send_text(STRANGER, "/admin_login")
    )
    assert denial.text == EN("This command is only for Tuanyuan's moderators.")
    theirs = issue_login(world.services.db, world.clock, STRANGER.id)
    await stranger_tab.goto(f"{web.served.web_url}/login/{theirs}")
    await stranger_tab.click("form.login button")
    assert "not a moderator's" in await stranger_tab.inner_text("p.refused")
    assert await other.cookies() == []
    await other.close()
    await context.close()
    refused = [e for e in world.services.audit.entries() if e["action"] == "web.login_refused"]
    assert [e["details"] for e in refused] == [{"reason": "link"}, {"reason": "link"},
                                                {"reason": "not_admin"}]  # fmt: skip
    assert [e["actor"] for e in refused][-1] == STRANGER.id


async def _submit(page: Page, button: str) -> None:
    """Press a form's button and wait for the page the form leads to."""
    async with page.expect_navigation():
        await page.click(button)


async def _queue_card(desk: Page, web: WebWorld, order_id: str) -> None:
    await desk.goto(f"{web.served.web_url}/queue")
    await desk.wait_for_selector(f"#order-{order_id}")


async def test_requests_are_approved_changed_and_rejected_in_the_browser(
    web: WebWorld, desk: Page
) -> None:
    world, sandbox = web.world, web.world.sandbox
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/rules words en naughty"))
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/rules videos on"))
    await living_family(world, MEMBER, SUBJECT, languages=("en",))
    for recipient in ("Naughty Tom", "Naughty Sue"):
        status = await confirm(world, MEMBER, await prepare_order(world, MEMBER, recipient))
        assert EN("Waiting for a moderator to read the words.") in (status.text or "")
    placed = orders_where(world.services.db, "user_id = ? AND placed_at IS NOT NULL", [MEMBER.id])
    tom, sue = (order.id for order in placed)

    await _queue_card(desk, web, sue)
    assert await desk.locator("article.card").count() == 2
    photo = desk.locator(f"#order-{sue} img")
    assert await photo.evaluate("img => img.complete && img.naturalWidth > 0")
    await _shoot(desk, "queue-desktop")
    await desk.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await _shoot(desk, "queue-phone")
    await desk.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    # The reviewer's keys: j selects the next request, k the one before.
    await desk.keyboard.press("j")
    assert "selected" in (await desk.get_attribute(f"#order-{sue}", "class") or "")
    await desk.keyboard.press("k")
    assert "selected" in (await desk.get_attribute(f"#order-{tom}", "class") or "")

    # Ask for a change: the member reads the note, answers, and the request is back.
    await desk.fill(f"#order-{sue} form.change textarea", "Please   leave out the\nnickname.")
    asked = await world.reply_to(
        MEMBER, lambda: _submit(desk, f"#order-{sue} form.change button"),
        until=lambda m: "leave out the nickname" in (m.text or ""),
    )  # fmt: skip
    assert "Please leave out the nickname." in (asked.text or "")
    assert await desk.inner_text("p.notice") == EN(
        "Sent to the family. Their new words will come back here."
    )
    await world.reply_to(
        MEMBER,
        lambda: sandbox.send_text(MEMBER, "Happy Mid-Autumn, Naughty Sue!"),
        until=says(MEMBER, "Thank you. A moderator will read the new words."),
    )
    await _queue_card(desk, web, sue)

    # Reject with a reason: the member is told why, in their language.
    await desk.select_option(f"#order-{sue} form.reject select", "hurtful")
    await world.reply_to(
        MEMBER,
        lambda: _submit(desk, f"#order-{sue} form.reject button"),
        until=lambda m: rejection_text(EN, "hurtful") in (m.text or ""),
    )
    assert get_order(world.services.db, sue).status == OrderStatus.REJECTED

    # Approve, by its key: rendered, then back in the queue with its finished video.
    async with desk.expect_navigation():
        await desk.keyboard.press("a")
    assert await desk.inner_text("p.notice") == EN("Approved.")
    for _ in range(int(RENDER_WAIT_S / 0.5)):
        if get_order(world.services.db, tom).status == OrderStatus.VIDEO_REVIEW:
            break
        await desk.wait_for_timeout(500)
    order = get_order(world.services.db, tom)
    assert order.status == OrderStatus.VIDEO_REVIEW, order
    assert order.video_id is not None
    with av.open(io.BytesIO(world.services.vault.read_bytes(order.video_id))) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    await _queue_card(desk, web, tom)
    # Served from the vault in byte ranges, as the player asks for them.
    stored = world.services.vault.read_bytes(order.video_id)
    address = f"{web.served.web_url}/queue/{tom}/video"
    part = await desk.request.get(address, headers={"Range": "bytes=100-199"})
    assert (part.status, part.headers["content-range"]) == (206, f"bytes 100-199/{len(stored)}")
    assert await part.body() == stored[100:200]
    beyond = await desk.request.get(address, headers={"Range": f"bytes={len(stored)}-"})
    assert beyond.status == 416
    video = desk.locator(f"#order-{tom} video")
    assert await video.evaluate("v => v.canPlayType('video/mp4; codecs=\"avc1.64001f\"')") != ""
    await video.evaluate("v => { v.muted = true; return v.play(); }")
    played = 0.0
    for _ in range(200):  # the page's policy allows no eval, so no wait_for_function
        if (played := await video.evaluate("v => v.currentTime")) > 0.5:
            break
        await desk.wait_for_timeout(100)
    assert played > 0.5
    await video.evaluate("v => v.pause()")
    await _shoot(desk, "queue-video-desktop")
    await desk.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await _shoot(desk, "queue-video-phone")
    await desk.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    preview = await world.reply_to(
        MEMBER, lambda: _submit(desk, f"#order-{tom} form.approve button"), until=is_preview,
        wait_s=60,
    )  # fmt: skip
    assert preview.method == "sendVideo"
    decided = [(e["actor"], e["action"]) for e in world.services.audit.entries()
               if str(e["action"]).startswith("moderation.")]  # fmt: skip
    assert decided == [
        (ADMIN.id, "moderation.rules_changed"),
        (ADMIN.id, "moderation.rules_changed"),
        (ADMIN.id, "moderation.change_requested"),
        (ADMIN.id, "moderation.rejected"),
        (ADMIN.id, "moderation.approved"),
        (ADMIN.id, "moderation.approved"),
    ]


def _metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _scrape(web: WebWorld) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    url = f"{web.served.metrics_url}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return _metrics(await response.text())


async def test_metrics_count_what_happened_to_a_full_order(web: WebWorld) -> None:
    world = web.world
    await send_it(world, MEMBER)
    seen = await _scrape(web)
    assert seen[("tuanyuan_orders", (("state", "delivered"),))] == 1
    assert seen[("tuanyuan_orders", (("state", "rejected"),))] == 1
    assert seen[("tuanyuan_queue_depth", ())] == 0
    assert seen[("tuanyuan_deliveries_total", (("outcome", "sent"),))] == 1
    assert seen[("tuanyuan_deliveries_total", (("outcome", "refused"),))] == 0
    (delivered,) = orders_where(world.services.db, "status = 'delivered'", [])
    assert delivered.render_s is not None and delivered.voice and delivered.likeness
    labels = (("likeness", delivered.likeness), ("voice", delivered.voice))
    assert seen[("tuanyuan_render_seconds_count", labels)] == 1
    assert seen[("tuanyuan_render_seconds_sum", labels)] == pytest.approx(delivered.render_s)

    # Updates: exactly the ones sent since, by type, and each one's handling timed.
    before = seen
    await world.reply_to(MEMBER, lambda: world.sandbox.send_text(MEMBER, "/orders"))
    await world.reply_to(MEMBER, lambda: world.sandbox.send_text(MEMBER, "/help"))
    message = ("tuanyuan_updates_total", (("type", "message"),))
    timed = ("tuanyuan_reply_seconds_count", ())
    for _ in range(100):  # a reply is sent just before its handler returns
        after = await _scrape(web)
        if after[message] - before[message] >= 2:
            break
        await asyncio.sleep(0.05)
    assert after[message] - before[message] == 2

    def handled(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
        return sum(v for (name, _), v in metrics.items() if name == "tuanyuan_updates_total")

    assert after[timed] - before[timed] == handled(after) - handled(before)
    assert after[("tuanyuan_updates_total", (("type", "callback_query"),))] >= 3


async def test_a_proof_document_is_approved_in_the_browser(web: WebWorld, desk: Page) -> None:
    world = web.world
    await create_space(world, RELATIVE, "外婆", "deceased")
    await verify_relative(world, RELATIVE, "孫女")
    await world.reply_to(
        RELATIVE,
        lambda: world.sandbox.send_document(RELATIVE, PDF_PROOF, "cert.pdf", "application/pdf"),
    )
    await desk.goto(f"{web.served.web_url}/proofs")
    link = desk.locator("article.card a")
    got = await desk.request.get(f"{web.served.web_url}{await link.get_attribute('href')}")
    assert (got.headers["content-type"], await got.body()) == ("application/pdf", PDF_PROOF)
    await _shoot(desk, "proofs-desktop")
    told = await world.reply_to(RELATIVE, lambda: _submit(desk, "article.card form button.primary"))
    assert says(
        RELATIVE,
        "A moderator approved your proof document: you are a verified relative of {subject}. "
        "Send /consent to authorise greetings.",
        subject="外婆",
    )(told)
    assert await desk.inner_text("p.notice") == EN("Approved.")
    approved = [e for e in world.services.audit.entries() if e["action"] == "admin.approved"]
    assert [(e["actor"], e["details"]["member"]) for e in approved] == [(ADMIN.id, RELATIVE.id)]  # type: ignore[index]


async def test_families_and_health_show_what_moderation_needs(web: WebWorld, desk: Page) -> None:
    await desk.goto(f"{web.served.web_url}/families")
    text = await desk.inner_text("main")
    assert "Grandpa" in text and "外婆" in text and EN("consent given") in text
    assert "+8869" not in text  # members' phone numbers stay out of the web
    await _shoot(desk, "families-desktop")
    await desk.goto(f"{web.served.web_url}/health")
    tiles = await desk.locator(".tile .number").all_inner_texts()
    assert tiles[0] == "0" and tiles[2] == "0 / 1"
    assert "sent\n1" in await desk.inner_text("main")
    await _shoot(desk, "health-desktop")


async def test_a_campaign_is_created_charted_and_paused_in_the_browser(
    web: WebWorld, desk: Page
) -> None:
    services, url = web.world.services, web.served.web_url
    await desk.goto(f"{url}/campaigns")
    assert await desk.inner_text("p.empty") == EN("No campaign yet.")
    # Each invitation's language named in the admin's (繁體中文 means nothing to some).
    labels = await desk.locator("label:has(textarea)").all_inner_texts()
    assert [label.split("\n")[0] for label in labels] == [
        f"Invitation in {name}" for name in ("Traditional Chinese", "Simplified Chinese", "English")
    ]
    # The form offers the first template's next festival day; a bad time is refused, in words.
    offered = await desk.locator("select[name=template] option").first.get_attribute("data-next")
    assert offered and await desk.input_value("input[name=day]") == offered
    await desk.fill("input[name=time]", "25:00")
    for language, words in (("zh-Hant", "中秋快樂！"), ("zh-Hans", "中秋快乐！"),
                            ("en", "Happy   Mid-Autumn!")):  # fmt: skip
        await desk.fill(f"textarea[name=text-{language}]", words)
    await _submit(desk, "#create")
    assert await desk.inner_text("#problem") == EN(
        "Please type the time as HH:MM, for example 09:30."
    )
    assert await desk.input_value("textarea[name=text-en]") == "Happy   Mid-Autumn!"  # kept
    await desk.fill("input[name=time]", "8:30")
    await desk.check("input[name=audience][value=link]")
    # A day far from the festival is asked about, and taken once the box is ticked.
    far = (date.fromisoformat(offered) + timedelta(days=60)).isoformat()
    await desk.fill("input[name=day]", far)
    await _submit(desk, "#create")
    first = await desk.locator("select[name=template] option").first.get_attribute("value")
    assert await desk.inner_text("#problem") == EN(
        "{date} is far from {festival}, which next falls on {festival_date}."
    ).format(date=far, festival=template_title(first or "", "en"), festival_date=offered)
    assert services.campaigns.campaigns() == []
    await _shoot(desk, "campaign-far-day-desktop")
    await desk.check("#day-confirmed input")
    await _submit(desk, "#create")
    [campaign] = services.campaigns.campaigns()
    assert (campaign.festival_date, campaign.send_time, campaign.created_by) == (
        far,
        "08:30",
        ADMIN.id,
    )
    assert campaign.text("en") == "Happy Mid-Autumn!"  # the chat's rules: spaces collapsed
    card = f"#campaign-{campaign.id}"
    assert await desk.inner_text("p.notice") == EN("The campaign is ready.")
    link = await desk.inner_text(f"{card} code.link")  # for the families it invites
    assert link.endswith(f"?start=campaign-{campaign.invite_code}")
    # Until invitations go out, its time may change (the same checks again).
    await desk.fill(f"{card} form.schedule input[name=time]", "10:15")
    await _submit(desk, f"{card} form.schedule button")
    assert await desk.inner_text("p.notice") == EN("The new day and time are set.")
    moved = services.campaigns.campaign(campaign.id)
    assert moved is not None and moved.send_time == "10:15"
    # Moved to another day far from the festival, it is asked about in its own form.
    later = (date.fromisoformat(far) + timedelta(days=7)).isoformat()
    await desk.fill(f"{card} form.schedule input[name=day]", later)
    await _submit(desk, f"{card} form.schedule button")
    assert (await desk.inner_text("#problem")).startswith(later)
    assert services.campaigns.campaign(campaign.id).festival_date == far  # type: ignore[union-attr]
    await desk.check(f"{card} form.schedule .day-confirmed input")
    await _submit(desk, f"{card} form.schedule button")
    assert await desk.inner_text("p.notice") == EN("The new day and time are set.")
    assert services.campaigns.campaign(campaign.id).festival_date == later  # type: ignore[union-attr]
    assert services.audit.entries()[-1]["action"] == "campaign.rescheduled"

    # Its report as a chart: the same numbers as /campaign_report (one family has said Yes).
    write_invitation(services.db, Invitation(campaign_id=campaign.id, space_id="s1",
                                             user_id=MEMBER.id, chat_id=MEMBER.id,
                                             state=Answer.ACCEPTED, invited_at="2026-01-01",
                                             answered_at="2026-01-02"))  # fmt: skip
    await desk.reload()
    counts = services.campaigns.report(campaign).counts()
    bars = desk.locator(f"{card} svg.chart g.bar")
    assert await bars.count() == 10
    assert await desk.locator(f"{card} .bar-accepted text.count").text_content() == "1"
    assert await desk.locator(f"{card} .bar-invited text.count").text_content() == str(
        counts["invited"]
    )
    widths = [float(await bar.get_attribute("width") or "0")
              for bar in await desk.locator(f"{card} svg.chart rect").all()]  # fmt: skip
    assert widths[1] > 0 and widths[2] == 0  # accepted drawn, declined not

    # A family's greeting with a personal message waits for a moderator under its campaign,
    # whose card it links to (the chat's card names it too).
    member = membership_of(services.db, MEMBER.id)
    assert member is not None
    answered = Invitation(campaign_id=campaign.id, space_id=member.space_id, user_id=MEMBER.id,
                          chat_id=MEMBER.id, state=Answer.ACCEPTED, recipient="Grandma",
                          message="We miss you.", invited_at="2026-01-01",
                          answered_at="2026-01-02")  # fmt: skip
    write_invitation(services.db, answered)
    order = await services.campaigns.place(answered, "en")
    assert order is not None
    await _queue_card(desk, web, order.id)
    named = desk.locator(f"#order-{order.id} dd a[href='/campaigns#campaign-{campaign.id}']")
    assert await named.inner_text() == campaign.id
    assert await desk.locator("article.card dd a").count() == 1  # members' own orders: none
    await _submit(desk, f"#order-{order.id} dd a")
    assert desk.url.endswith(f"/campaigns#campaign-{campaign.id}")

    # Paused: shown, audited with the moderator's id, and resumed the same way.
    await _submit(desk, f"{card} .pause-toggle")
    assert await desk.inner_text(f"{card} .state") == EN("Paused")
    assert "Paused" in await desk.inner_text("p.notice")
    paused = services.campaigns.campaign(campaign.id)
    assert paused is not None and paused.paused_by == ADMIN.id
    entry = services.audit.entries()[-1]
    assert (entry["actor"], entry["action"]) == (ADMIN.id, "campaign.paused")
    await _shoot(desk, "campaigns-desktop")
    forged = await desk.request.post(f"{url}/campaigns/{campaign.id}/resume", form={})
    assert forged.status == 403  # no CSRF token: refused, still paused
    assert (services.campaigns.campaign(campaign.id) or campaign).paused_at is not None
    await _submit(desk, f"{card} .pause-toggle")
    assert await desk.inner_text(f"{card} .state") == EN("Running")
    await _submit(desk, f"{card} .pause-toggle")  # paused again for the phone's screenshot


async def test_every_page_reads_in_the_moderators_language_on_a_phone(
    web: WebWorld, browser: Browser
) -> None:
    set_language(web.world.services.db, ADMIN.id, "zh-Hant")
    phone = await _signed_in(web, browser, PHONE)
    page = await phone.new_page()
    zh = gettext_for("zh-Hant")
    for each in PAGES:
        await page.goto(f"{web.served.web_url}{each.path}")
        assert zh(each.label(EN)) in await page.inner_text("nav")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{each.path} scrolls sideways on a phone ({width} px)"
        await _shoot(page, f"{each.path.strip('/')}-phone-zh-hant")
        if each.path == "/campaigns":  # the paused campaign says so on a phone too
            assert await page.locator(".pause-note").is_visible()
    await phone.close()
    set_language(web.world.services.db, ADMIN.id, "en")


async def test_the_audit_chain_is_verified_and_a_changed_byte_is_found(
    web: WebWorld, desk: Page
) -> None:
    from bot.cli import main

    world = web.world
    await desk.goto(f"{web.served.web_url}/audit?actor={ADMIN.id}")
    actors = await desk.locator("table.log tbody td:nth-child(3)").all_inner_texts()
    assert actors and set(actors) == {str(ADMIN.id)}
    await _submit(desk, "#verify")
    assert (await desk.inner_text("#verdict")).startswith("The audit log is intact:")
    await _shoot(desk, "audit-desktop")

    log = world.data_dir / "audit.log"
    lines = log.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b'"at":"2', b'"at":"1', 1)
    log.write_bytes(b"\n".join(lines))
    await _submit(desk, "#verify")
    assert await desk.inner_text("#verdict") == EN(
        "The audit log was altered after {count} good entries: {problem}."
    ).format(count=3, problem="line 4 was altered")
    assert main(["audit", "verify", "--data-dir", str(world.data_dir)]) == 1
    await _shoot(desk, "audit-tampered-desktop")


async def test_forms_without_their_token_removed_admins_and_idle_sessions_are_refused(
    web: WebWorld, desk: Page, browser: Browser
) -> None:
    world = web.world
    url = web.served.web_url
    verified = len([e for e in world.services.audit.entries() if e["action"] == "audit.verified"])
    forms: list[dict[str, str | float | bool]] = [{}, {"csrf": "0" * 64}]
    for form in forms:
        answer = await desk.request.post(f"{url}/audit/verify", form=form)
        assert answer.status == 403
        assert "This form is out of date" in await answer.text()
    entries = world.services.audit.entries()
    assert len([e for e in entries if e["action"] == "audit.verified"]) == verified
    assert [e["details"] for e in entries if e["action"] == "web.refused"][-2:] == [
        {"reason": "csrf", "path": "/audit/verify"}
    ] * 2

    settings = world.services.settings
    world.services.settings = replace(settings, admin_ids=frozenset())
    try:
        assert "not signed in" in await _refused(desk, f"{url}/queue", 401)
    finally:
        world.services.settings = settings
    # The session ended with the refusal: being an admin again needs a new link.
    assert "not signed in" in await _refused(desk, f"{url}/queue", 401)
    await _shoot(desk, "refused-desktop")

    # A session left idle for longer than TUANYUAN_WEB_IDLE_MINUTES ends.
    idle = await _signed_in(web, browser, DESKTOP)
    page = await idle.new_page()
    world.clock.advance(timedelta(seconds=world.services.settings.web_idle_s - 5))
    assert (response := await page.goto(f"{url}/health")) is not None and response.ok
    world.clock.advance(timedelta(seconds=world.services.settings.web_idle_s + 1))
    assert "not signed in" in await _refused(page, f"{url}/health", 401)
    await idle.close()
