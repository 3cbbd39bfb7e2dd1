"""RELIABILITY.md's parts: the hostile corpus's head and other benchmarks' sections each
regenerated without losing the others."""

from __future__ import annotations

import io
from pathlib import Path

from bot import hostile
from bot.reliability_report import sections, write_section


def _head(path: Path, cases: int) -> None:
    """What ``hostile.bench`` does with its report: the head rewritten, the sections kept."""
    kept = sections(path)
    text = io.StringIO()
    hostile.report([], [], False, text)
    path.write_text(text.getvalue().replace("cases: 0", f"cases: {cases}") + kept)


def test_each_part_is_regenerated_and_the_others_kept(tmp_path: Path) -> None:
    report = tmp_path / "RELIABILITY.md"
    write_section(report, "Fuzzing", "first run")
    assert report.read_text().startswith("# Reliability\n\n## Fuzzing\n\nfirst run")
    _head(report, 90)
    write_section(report, "Load", "a load run")
    write_section(report, "Fuzzing", "second run")
    _head(report, 91)
    text = report.read_text()
    assert "cases: 91" in text and "cases: 90" not in text
    assert text.endswith("## Fuzzing\n\nsecond run\n\n## Load\n\na load run\n")
    assert "first run" not in text and text.count("# Reliability") == 1
