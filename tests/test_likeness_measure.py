"""The benchmark's measurements on frames: the same face measures as the same face."""

from __future__ import annotations

import cv2
import numpy as np

from engine._faces import find_faces
from engine._portrait_bench import real_portrait
from engine._scene import KenBurns, canvas_size, portrait_window
from engine._templates import load_template
from engine.likeness import descriptor, detect_faces
from engine.likeness._measure import MEASURED_FACE_PX, measuring_scale, rescaled


def test_a_close_up_moved_by_a_fraction_of_a_pixel_measures_as_the_same_face() -> None:
    """The 9:16 close-up enlarges a small real photo about twice. Measured at that size,
    dlib's landmarks jumped by pixels when the frame moved by a quarter of one, and the identity
    distance with them (0.29 for the same face), whatever the animation did."""
    photo = real_portrait()
    assert photo is not None, "matplotlib (a test dependency) ships the sample portrait"
    layout = load_template("mid-autumn").layouts["9:16"]
    window = portrait_window(layout, canvas_size("9:16", 1.0))
    box = find_faces(np.asarray(photo, np.uint8))[0]
    camera = KenBurns(photo, (window[2], window[3]), box, "push_in", shot=layout.shot)
    frame = camera.frame_at(1.0, 0.2)
    height, width = frame.shape[:2]
    quarter_pixel = np.array([[1, 0, 0.25], [0, 1, 0]], np.float32)
    moved = np.asarray(cv2.warpAffine(frame, quarter_pixel, (width, height),
                                      flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
                       np.uint8)  # fmt: skip
    face = detect_faces(frame)[0]
    scale = measuring_scale(face)
    assert face.width > 1.5 * MEASURED_FACE_PX  # the close-up measured smaller
    vectors = []
    for picture in (frame, moved):
        small = rescaled(picture, scale)
        vectors.append(descriptor(small, detect_faces(small)[0]))
    assert np.linalg.norm(vectors[0] - vectors[1]) < 0.1
