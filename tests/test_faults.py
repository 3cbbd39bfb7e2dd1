"""kill -9 the real bot mid-order, restart it, and check each order arrived exactly once,
that its render worker died with it, and that no decrypted media stayed in its scratch.

The short version of ``tuanyuan bench faults``, on a template cut to one sentence (a render of
seconds): one paid order killed while rendering, one killed after the stand-in carried out the
final ``sendVideo`` but before the bot read its answer (the window where a naive retry sends the
greeting twice), one killed just after the payment, one that meets Telegram's failures (429,
502, resets, answers that never come) on a random schedule after it was paid, one killed just
after a moderator approved or rejected it, a campaign's greetings to five families killed while
they go out, and last one whose subject withdraws consent mid-render. The bot is a child
process; the stand-in's record is the judge, and after each run the audit chain verifies and
nothing is left outside the vault.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.faults import (
    CAMPAIGN_FAMILIES,
    FESTIVAL,
    SECTION,
    FaultHarness,
    FaultReport,
    KillPoint,
    RunResult,
    section,
    summaries,
)
from bot.hostile import corpus, outside_the_vault, run_cases
from bot.reliability_report import write_section
from bot.storage import OrderStatus
from tests.auxil.templates import tiny_template

POINTS: tuple[KillPoint, ...] = (
    "rendering",
    "final-sent",
    "paid",
    "telegram",
    "moderation",
    "campaign",
)
# A reduced run of the hostile corpus (the whole of it: tuanyuan bench reliability), one case of
# each kind the restarted bot must answer without crashing or leaving plaintext behind.
HOSTILE = {
    "video: 5 minutes, no declared duration",
    "video document: frames growing to 8192 wide",
    "image document: PNG bomb 30000x30000",
    "photo: PNG bomb 30000x30000",
    "voice: HLS playlist behind .ogg",
    "video note: random bytes",
    "file name '../../../../etc/passwd.jpg'",
    "document: a PE executable behind .pdf",
    "text: NUL, BEL and ANSI escapes",
}


@pytest.mark.timeout(420)
async def test_orders_arrive_exactly_once_across_kill_9(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    tiny_template(templates, FESTIVAL)
    env = {"TUANYUAN_TEMPLATES_DIR": str(templates)}
    report = FaultReport()
    # A member quicker to press "Show it again" than the benchmark's (30 s): each press is one
    # more chance to send twice, and the run waits less for the presses Telegram's failures need.
    async with FaultHarness(
        tmp_path, price_stars=5, rng=random.Random(12), env=env, patience_s=10.0
    ) as harness:
        for number, point in enumerate(POINTS, start=1):
            report.runs.append(await harness.run(number, point))
        delivered_refunds = (await harness.refunds())[0]
        cases = [case for case in corpus(tmp_path / "corpus") if case.name in HOSTILE]
        hostile = await run_cases(harness, cases)
        stray = outside_the_vault(harness.data_dir)
        # Last, as it ends the family's consent: the subject withdraws it mid-render.
        revoked = await harness.run(len(POINTS) + 1, "revocation")
        report.refunds, report.refunded_twice = await harness.refunds()

    lines = "\n".join(run.line() for run in report.runs)
    assert report.summary() == "6 runs, 0 duplicates, 0 lost, 0 broke the invariant otherwise", (
        lines
    )
    *orders, moderated, campaign = report.runs
    # Nothing failed for good here, so every order was delivered, once, and nothing refunded
    # but a rejected order's Stars.
    assert [run.status for run in orders] == [OrderStatus.DELIVERED] * 4, lines
    assert [(run.previews, run.finals) for run in orders] == [(1, 1)] * 4, lines
    rejected = moderated.status == OrderStatus.REJECTED
    assert (moderated.previews, moderated.finals) == ((0, 0) if rejected else (1, 1)), (
        moderated.line()
    )
    assert [family.finals for family in campaign.families] == [1] * CAMPAIGN_FAMILIES, lines
    # Killed alone, the bot took its render worker with it; no plaintext outlived a run.
    assert [(run.orphans, run.scratch_files, run.stray) for run in report.runs] == [
        (0, 0, ())
    ] * 6, lines
    assert all(run.audit_intact for run in report.runs), lines
    assert delivered_refunds == int(rejected)
    # The order being made when consent was withdrawn ended, the member told and refunded once:
    # revoked, or cancelled when the kill came before the revocation reached it (the restarted
    # bot then finds no consent before rendering again).
    assert revoked.status in {OrderStatus.REVOKED, OrderStatus.CANCELLED}, revoked.line()
    assert (revoked.previews, revoked.finals) == (0, 0), revoked.line()
    assert (revoked.lost, revoked.broken) == (False, []), revoked.line()
    assert (report.refunds, report.refunded_twice) == (1 + int(rejected), 0)
    assert len(hostile) == len(HOSTILE)
    assert [o.case.name for o in hostile if not o.held] == []
    assert [o.case.name for o in hostile if o.by_telegram] == ["photo: PNG bomb 30000x30000"]
    assert stray == []


def test_the_reliability_section_shows_each_fault_and_what_broke(tmp_path: Path) -> None:
    def run(number: int, point: KillPoint, finals: int, kept: int = 0) -> RunResult:
        return RunResult(number, point, "killed", "o", OrderStatus.DELIVERED, 1, finals, True,
                         10.0 * number, 0, 0, likeness_kept=kept)  # fmt: skip

    report = FaultReport([run(1, "paid", 1), run(2, "paid", 2), run(3, "revocation", 1, kept=3)])
    body = section(summaries(report), report.refunds, report.refunded_twice, "tuanyuan bench")
    out = tmp_path / "RELIABILITY.md"
    write_section(out, SECTION, body)
    text = out.read_text(encoding="utf-8")
    assert "- runs: 3; duplicates: 1; lost: 1; broke the invariant otherwise: 1" in text
    assert "| `paid` | 2 | 1 | 1 | 0 | 15.0 |" in text
    assert "| `revocation` | 1 | 0 | 0 | 1 | 30.0 |" in text
