"""The demo's sample footage, as a new user first sees it animated."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from bot.demo.samples import sample_portrait_jpeg
from engine.likeness import MouthTrack, TalkingPortrait, detect_faces


def test_the_demo_grandfather_blinks_behind_his_glasses_without_bending_them() -> None:
    """dlib used to place his lower lids on the glasses' lower rims, so each blink pulled the
    rims out of shape: in the demo's greeting the shut eyes read as a broken pair of glasses.
    Around each eye, the dark lines (rims, brow) now change between the frame before a blink
    and the shut frame only as much as the head's slow drift moves them."""
    photo = Image.open(io.BytesIO(sample_portrait_jpeg())).convert("RGB")
    portrait = TalkingPortrait(photo, MouthTrack.silent(), seed=3)
    blink = portrait.blinks_until(12.0)[0]
    shut_at = blink.start_s + next(
        dt for dt in np.arange(0, 0.3, 0.01) if portrait.closure(blink.start_s + dt) == 1.0
    )

    def grey(frame: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(frame).convert("L"), float)

    before, shut = grey(portrait.frame(blink.start_s - 0.1)), grey(portrait.frame(shut_at))
    still = np.asarray(photo.convert("L"), float)
    landmarks = detect_faces(np.asarray(photo))[0].landmarks
    for eye in (landmarks[36:42], landmarks[42:48]):
        (left, top), (right, bottom) = eye.min(axis=0), eye.max(axis=0)
        centre = (left + right) / 2
        rows, columns = np.mgrid[round(top - 60) : round(bottom + 40),
                                 round(centre - 90) : round(centre + 90)]  # fmt: skip
        the_eye = (abs(columns - centre) < (right - left) / 2 + 3) & (rows > top - 8)
        the_eye &= rows < bottom + 3
        lines = (still[rows, columns] < 110) & ~the_eye
        change = np.abs(shut[rows, columns] - before[rows, columns])[lines]
        assert lines.sum() > 1000  # the rim and the brow are there
        # measured 5.9-6.4 and none; the bent rims measured 20-28, a sixth to a quarter
        assert change.mean() < 12 and (change > 40).mean() < 0.01
