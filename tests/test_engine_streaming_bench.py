"""The streaming benchmark runs end to end on the voices every machine has (reduced: one repeat,
small frames, no XTTS) and its figures hang together."""

from __future__ import annotations

import io

import pytest

from engine import _streaming_bench


def test_the_benchmark_measures_both_ways_for_each_voice() -> None:
    out = io.StringIO()
    rows = _streaming_bench.run(out, height=360, pace=0.2, repeats=1)
    assert [row.voice.split(" ")[0] for row in rows] == ["espeak-world", "espeak-world's"]
    for row in rows:
        assert row.video_s == pytest.approx(19.0, abs=1.0) and row.audio_s > 10
        assert min(row.speak_s, row.compose_s, row.render_s) > 0
        assert row.ratio == pytest.approx(row.render_s / (row.speak_s + row.compose_s))
    paced = rows[1]
    assert paced.speak_s >= 0.2 * 12  # the pace is kept: 0.2 s per second of speech
    assert paced.render_s >= paced.speak_s  # a render cannot end before its voice has spoken
    table = out.getvalue().splitlines()
    assert table[2].startswith("| voice |") and len(table) == 6
