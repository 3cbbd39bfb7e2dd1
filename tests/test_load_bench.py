"""The short version of ``tuanyuan bench load``: a few families set up, consent, upload, order
a greeting and ask /help through the stand-in while one account floods, against the real bot
as a child process; what the report says must be what happened."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.load_bench import Interaction, LoadReport, MemorySample, run_load
from tests.auxil.templates import tiny_template


@pytest.mark.timeout(300)
async def test_a_short_load_run_answers_everyone_once_and_renders_the_order(
    tmp_path: Path,
) -> None:
    templates = tmp_path / "templates"
    tiny_template(templates, "mid-autumn")  # a render of seconds
    out = io.StringIO()
    # Six people: three families; the first uploads a photo, the second a voice sample, the
    # third goes all the way to a greeting's preview.
    report = await run_load(6, 20.0, 2.0, 2.0, seed=7, work=tmp_path, out=out,
                            env={"TUANYUAN_TEMPLATES_DIR": str(templates)})  # fmt: skip
    assert (report.lost, report.duplicates) == (0, 0), out.getvalue()
    assert (report.ordered, report.rendered) == (1, 1), out.getvalue()
    kinds = {interaction.kind for interaction in report.interactions}
    assert {"newspace", "join", "contact", "upload", "festival", "confirm", "help"} <= kinds
    assert report.flood_sent > 0
    # The bot's own memory apart from its workers', which came and went with the uploads.
    assert all(100 < sample.bot_mib < 1024 for sample in report.memory)
    assert any(sample.workers_mib for sample in report.memory)
    assert "greetings ordered: 1, previews rendered and sent: 1" in out.getvalue()


def test_the_tail_and_the_memory_are_reported_per_tenth_of_the_run() -> None:
    report = LoadReport(users=2, duration_s=100.0, think_s=1.0)
    report.interactions = [
        Interaction("help", 1, at=float(at), reply_s=0.01) for at in range(0, 100, 2)
    ] + [
        Interaction("help", 1, at=55.0, reply_s=3.0),  # a stall in the sixth tenth
        Interaction("upload", 1, at=5.0, reply_s=9.0),  # uploads are not in the tail
        Interaction("help", 1, at=95.0, reply_s=None),  # lost: not a latency
    ]
    tail = report.p99_by_tenth()
    assert [round(p99, 2) for p99 in tail] == [0.01] * 5 + [3.0] + [0.01] * 4
    report.memory = [
        MemorySample(at=float(at), bot_mib=200.0 + at, workers_mib=(500.0,) * (at % 3))
        for at in range(0, 100, 5)
    ]
    assert report.bot_memory_by_tenth() == [205.0 + 10 * tenth for tenth in range(10)]
