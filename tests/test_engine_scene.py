"""Composition: what the frames of a greeting show, however they are made cheaply."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine._encoder import FPS
from engine._faces import find_faces
from engine._models import Aspect, ConsentReference, RenderSpec
from engine._painter import Backdrop
from engine._portrait_bench import real_portrait
from engine._render import _FRAMING_SPREAD, render
from engine._scene import (
    Look,
    Scene,
    _fade,
    _frame_border,
    _label_layer,
    canvas_size,
    face_share,
    pixel_box,
    portrait_window,
)
from engine._speech import Cue
from engine._templates import list_templates, load_template
from engine._timeline import Timeline
from tests.auxil.video import frame_at

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
    rng = np.random.default_rng(1)
    card, greeting = (rng.integers(0, 256, (SIZE[1], SIZE[0], 3), np.uint8) for _ in range(2))
    backdrop = Backdrop(card=card, greeting=greeting)
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
    # The cards show the painting whole, the greeting its frosted band: in the top right
    # corner, where nothing else is drawn, a card is the card's painting and a greeting frame
    # the greeting's.
    corner = slice(0, 8), slice(230, SIZE[0])
    for t in (0.0, 5.96):
        assert np.array_equal(scene.frame_at(t)[corner], card[corner])
    assert np.array_equal(scene.frame_at(2.0)[corner], greeting[corner])


ASPECTS: tuple[Aspect, ...] = ("16:9", "9:16", "1:1")
FACE_SHARE_MIN = 0.30  # of the frame's shorter side: about 200 px across on a phone held upright


@pytest.mark.parametrize("aspect", ASPECTS)
def test_every_template_keeps_the_face_a_third_of_the_shorter_side(aspect: Aspect) -> None:
    """Whatever camera move and take framing: the face's narrowest on-screen width over every
    template's layout (it was about 16 % of a 16:9 frame's width with the Christmas template)."""
    size = canvas_size(aspect, 1.0)
    for template_id in list_templates():
        layout = load_template(template_id).layouts[aspect]
        share = face_share(layout, size, framing=1 + _FRAMING_SPREAD)
        assert share >= FACE_SHARE_MIN, (template_id, aspect, share)
        # Upright and square greetings are close-ups, as a video call is.
        assert (layout.shot == "close_up") == (aspect != "16:9"), (template_id, aspect)


@pytest.mark.parametrize("aspect", ASPECTS)
def test_the_label_and_subtitles_stay_off_the_framed_picture(aspect: Aspect) -> None:
    size = canvas_size(aspect, 1.0)
    unit = min(size) / 720
    labels = [_label_layer(language, unit) for language in ("zh-Hant", "zh-Hans", "en")]
    for template_id in list_templates():
        layout = load_template(template_id).layouts[aspect]
        frame = _frame_border(portrait_window(layout, size), "#ffffff", unit)
        framed = (frame.x, frame.y, frame.alpha.shape[1], frame.alpha.shape[0])
        assert not any(label.overlaps(framed) for label in labels), (template_id, aspect)
        subtitles_top = pixel_box(layout.subtitles, size)[1]
        assert subtitles_top >= framed[1] + framed[3], (template_id, aspect)


@pytest.mark.parametrize(
    ("aspect", "template_id", "close_up"),
    [("16:9", "christmas", False), ("16:9", "christmas", True), ("9:16", "qixi", False)],
)
def test_a_real_face_is_as_large_as_the_layout_promises(
    aspect: Aspect, template_id: str, close_up: bool, tmp_path: Path
) -> None:
    """The engine's face detector on a decoded frame of a render of a real photograph
    (matplotlib's public-domain Grace Hopper) finds the face at least as wide as face_share;
    an order asking for a close-up gets one in 16:9 too."""
    photo = real_portrait()
    assert photo is not None, "matplotlib (a test dependency) ships the sample portrait"
    photo.save(tmp_path / "portrait.jpg")
    result = render(
        RenderSpec(
            render_id="face-size",
            template_id=template_id,
            language="en",
            portrait=tmp_path / "portrait.jpg",
            recipient="Grandma",
            output_dir=tmp_path,
            aspect=aspect,
            close_up=close_up,
            mode="preview",
            consent=ConsentReference.for_synthetic_media(),
        )
    )
    frame = frame_at(result.video, result.duration_s * 0.6)
    faces = find_faces(frame)
    assert len(faces) == 1
    layout = load_template(template_id).layouts[aspect]
    if close_up:
        layout = layout.model_copy(update={"shot": "close_up"})
    size = (frame.shape[1], frame.shape[0])
    promised = face_share(layout, size, framing=1.0)
    measured = faces[0].width / min(size)
    # dlib's detector sizes its boxes in pyramid steps of about 1.2: within one step.
    assert measured >= max(FACE_SHARE_MIN, promised / 1.2), (measured, promised)
