"""Composition: what the frames of a greeting show, however they are made cheaply."""

from __future__ import annotations

import numpy as np

from engine._encoder import FPS
from engine._scene import Look, Scene, _fade
from engine._speech import Cue
from engine._templates import load_template
from engine._timeline import Timeline

SIZE = (320, 180)
WINDOW = (110, 10, 100, 110)
SENTENCES = ["Happy Mid-Autumn Festival, dear grandmother, from all of us far away this year.",
             "We will look at the same moon tonight."]  # fmt: skip


class _Moving:
    """A portrait that changes every frame, as the talking one does."""

    def frame_at(self, t: float, progress: float) -> np.ndarray:
        return np.full((WINDOW[3], WINDOW[2], 3), round(t * FPS) % 200, np.uint8)


def test_subtitles_show_on_every_frame_exactly_as_drawn_over_the_frame() -> None:
    """Fully shown, a subtitle over the backdrop alone is blended once and pasted after; every
    frame must still be the backdrop, the portrait and each cue showing drawn at its fade."""
    template = load_template("mid-autumn")
    timeline = Timeline(
        intro_s=0.5, transition_s=0.2, speech_start_s=0.6, outro_s=0.5, length_s=(6.0, 6.0),
        sentences=SENTENCES, language="en", fps=FPS,
    )  # fmt: skip
    timeline.add(Cue(SENTENCES[0], 0.0, 3.0), at_s=0.0)
    timeline.add(Cue(SENTENCES[1], 3.0, 4.5), at_s=0.0)
    timeline.finish(at_s=0.0)
    layout = template.layouts["16:9"]
    look = Look(layout=layout, frame_colour="#c03030", title_glow="#ffe0a0", language="en",
                titles=("Mid-Autumn", "Mid-Autumn"), transitions=("crossfade", "wipe"))  # fmt: skip
    backdrop = np.random.default_rng(1).integers(0, 256, (SIZE[1], SIZE[0], 3), np.uint8)
    scene = Scene(backdrop, _Moving(), WINDOW, look, timeline)
    x, y, width, height = WINDOW
    shown = 0
    for index in range(round(0.8 * FPS), round(5.1 * FPS)):
        t = index / FPS
        expected = scene._base.copy()
        expected[y : y + height, x : x + width] = _Moving().frame_at(t, 0.0)
        for cue in scene._subtitles():
            if cue.start_s <= t < cue.end_s:
                cue.layer.draw_onto(expected, _fade(t, cue.start_s, cue.end_s, 0.12))
                shown += 1
        assert np.array_equal(scene.frame_at(t), expected), t
    assert len(scene._subtitles()) == 2 and shown > 80  # both cues, most frames captioned
    # The next greeting of the same look reuses the titles it drew: the same cards again.
    again = Scene(backdrop, _Moving(), WINDOW, look, timeline)
    for t in (0.0, 5.96):  # intro card, outro card
        assert np.array_equal(again.frame_at(t), scene.frame_at(t))
