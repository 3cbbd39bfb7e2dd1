"""The demo's sample footage, as a new user first sees it animated."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from bot.demo.samples import sample_portrait_jpeg
from engine import Aspect
from engine.likeness import MouthTrack
from engine.likeness.bench import framed_portrait, layouts


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
def test_the_demo_grandfather_shuts_his_eyes_cleanly_in_every_layout(aspect: Aspect) -> None:
    """The blink is only as good as dlib's landmarks, and dlib is trained on photographs. On
    the first drawing (round eyes behind glasses) it put his lower lids on the glasses' rims at
    some sizes: in the demo's own greeting each blink bent the rims, and at other sizes it left
    a smear of eye white and iris above the shut lid. Framed as the render frames him, his shut
    eyes now show no white and the picture outside them stays as it was."""
    photo = Image.open(io.BytesIO(sample_portrait_jpeg())).convert("RGB")
    framed, _ = framed_portrait(photo, aspect, layouts()[aspect], MouthTrack.silent(), seed=0)
    portrait = framed.talking
    blink = portrait.blinks_until(12.0)[0]
    shut_at = blink.start_s + next(
        dt for dt in np.arange(0, 0.3, 0.01) if portrait.closure(blink.start_s + dt) == 1.0
    )

    def grey(t: float) -> npt.NDArray[np.float64]:
        return np.asarray(Image.fromarray(framed.source_at(t)).convert("L"), float)

    before, shut = grey(blink.start_s - 0.1), grey(shut_at)
    landmarks = portrait.face.landmarks
    for eye in (landmarks[36:42], landmarks[42:48]):
        (left, top), (right, bottom) = eye.min(axis=0), eye.max(axis=0)
        width = right - left
        rows, columns = np.mgrid[round(top - width) : round(bottom + width),
                                 round(left - width / 2) : round(right + width / 2)]  # fmt: skip
        white_before = (before[rows, columns] > 215).sum()
        assert white_before > 0.05 * width * width  # the open eye shows its white
        assert (shut[rows, columns] > 215).sum() < 0.02 * white_before
        change = np.abs(shut - before)[rows, columns]
        centre = (left + right) / 2
        beside = (np.abs(columns - centre) > 0.75 * width) | (rows > bottom + width / 2)
        assert change[beside].max() < 40
        # the lines drawn around the eye (a brow, a rim) stay put
        the_eye = (np.abs(columns - centre) < width / 2 + 3) & (rows > top - 8)
        the_eye &= rows < bottom + 3
        lines = (before[rows, columns] < 150) & ~the_eye
        assert lines.sum() > 0.1 * width * width  # the brow at least
        # measured at most 0.03 (the brow's lower edge, where the lid's skin starts to stretch);
        # the glasses' rims bent by the old drawing's blinks, 0.19
        assert (change[lines] > 40).mean() < 0.06


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
def test_the_demo_grandfather_talks_with_his_own_lips_in_every_layout(aspect: Aspect) -> None:
    """The mouth opens where dlib puts it. Drawn as a smile's line alone, framed upright he was
    given a mouth a chin's depth below the line, and his greeting opened a second mouth on his
    chin. Framed as the render frames him, the landmarked mouth now lies on his drawn lips."""
    photo = Image.open(io.BytesIO(sample_portrait_jpeg())).convert("RGB")
    framed, _ = framed_portrait(photo, aspect, layouts()[aspect], MouthTrack.silent(), seed=0)
    pixels = framed.still.astype(int)
    lips = (pixels[..., 0] - pixels[..., 1] > 60) & (pixels[..., 0] > 110)  # redder than skin
    rows, columns = np.nonzero(lips)
    inner_mouth = framed.talking.face.landmarks[60:68]
    middle_x, middle_y = inner_mouth.mean(axis=0)
    assert rows.min() <= middle_y <= rows.max()
    assert columns.min() <= middle_x <= columns.max()
