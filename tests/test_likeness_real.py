"""How the benchmark's real recordings become enrolment and held-back clips."""

from __future__ import annotations

import numpy as np

from engine.likeness._real import deal, speaker_clips


def test_a_speakers_clips_leave_out_the_other_speaker_and_scraps() -> None:
    utterances = [("A", (0.0, 2.0)), ("B", (2.0, 3.0)), ("A", (3.0, 5.0)), ("A", (5.0, 5.3))]
    turns = [("A", (0.0, 2.0)), ("B", (1.0, 1.8)), ("B", (2.0, 3.0)), ("B", (4.8, 5.0))]
    assert speaker_clips(utterances, turns, "A") == [[(0.0, 1.0)], [(3.0, 4.8)]]
    assert speaker_clips(utterances, turns, "B") == [[(2.0, 3.0)]]


def test_utterances_are_dealt_alternately_so_none_is_both_enrolled_and_held_back() -> None:
    clips = [np.full(10, index, np.float32) for index in range(5)]
    enrolment, held_back = deal(clips)
    assert [int(c[0]) for c in enrolment] == [0, 2, 4]
    assert [int(c[0]) for c in held_back] == [1, 3]
