"""What shows the subject during the greeting: their photo talking under the camera move, or the
family's own clips, cropped around the face.

Both are ``PortraitLayer``s, so ``Scene`` composes them exactly like the still photo; the render
picks one with ``likeness.choose_mode`` from what the material allows and what the order asks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from engine._encoder import FPS
from engine._models import FaceBox, Shot
from engine._scene import KenBurns
from engine._templates import Motion
from engine._video import normalised_frames
from engine.likeness import ClipAssessment, MouthTrack, Segment, TalkingPortrait

Frame = npt.NDArray[np.uint8]


class TalkingKenBurns(KenBurns):
    """The camera move over the photo, with the photo itself talking and blinking underneath.

    The portrait is animated at the camera's source size, so its per-frame work is done once at
    display resolution and the move stays one affine. Raises IngestError when the face in the
    crop cannot be landmarked; the render then keeps the photo still.
    """

    def __init__(
        self,
        portrait: Image.Image,
        window: tuple[int, int],
        face: FaceBox,
        motion: Motion,
        mouth: MouthTrack,
        seed: int,
        framing: float = 1.0,
        shot: Shot = "portrait",
    ) -> None:
        super().__init__(portrait, window, face, motion, framing, shot)
        self._talking = TalkingPortrait(
            Image.fromarray(self.still), mouth, seed=seed, near=self.face_centre
        )
        self._source = self.still.copy()  # repainted where the face moves, every frame

    @property
    def talking(self) -> TalkingPortrait:
        """The animated photo under the camera: its blinks and mouth, for measuring."""
        return self._talking

    def source_at(self, t: float) -> Frame:
        self._talking.paint(t, self._source)
        return self._source


class FootageReel:
    """The planned clip segments back to back in the window, from ``start_s`` on the video clock.

    Frames are decoded in order as the render asks for them; asking for an earlier time (the
    thumbnail, after the render) reopens the clip. Before the reel starts and after it ends the
    first and last frames hold.
    """

    def __init__(
        self,
        segments: Sequence[Segment],
        clips: Sequence[ClipAssessment],
        window: tuple[int, int],
        start_s: float,
    ) -> None:
        if not segments:
            raise ValueError("a footage reel needs at least one segment")
        self._segments = tuple(segments)
        self._centres = {clip.path: clip.face_centre for clip in clips}
        self._window = window
        self._start_s = start_s
        self._end_s = segments[-1].at_s + segments[-1].end_s - segments[-1].start_s
        self._path: Path | None = None
        self._frames: Iterator[tuple[float, Frame]] = iter(())
        self._current: tuple[float, Frame] | None = None

    def frame_at(self, t: float, progress: float) -> Frame:
        clock = min(max(t - self._start_s, 0.0), self._end_s - 0.5 / FPS)
        segment = next(
            (s for s in self._segments if clock < s.at_s + s.end_s - s.start_s),
            self._segments[-1],
        )
        picture = self._picture(segment.path, segment.start_s + clock - segment.at_s)
        return _fill(picture, self._window, self._centres.get(segment.path, (0.5, 0.5)))

    def _picture(self, path: Path, source_s: float) -> Frame:
        current = self._current
        if path != self._path or current is None or source_s < current[0] - 0.5 / FPS:
            self._path = path
            self._frames = normalised_frames(path, fps=FPS)
            current = self._current = next(self._frames)
        while current[0] + 0.5 / FPS <= source_s:
            following = next(self._frames, None)
            if following is None:
                break  # the clip ended early (a short last GOP): hold its last frame
            current = self._current = following
        return current[1]


def _fill(picture: Frame, window: tuple[int, int], centre: tuple[float, float]) -> Frame:
    """The largest crop of the window's shape around the face, scaled to fill the window."""
    width, height = window
    source_height, source_width = picture.shape[:2]
    crop_w = min(source_width, round(source_height * width / height))
    crop_h = min(source_height, round(crop_w * height / width))
    left = min(max(0, round(centre[0] * source_width - crop_w / 2)), source_width - crop_w)
    top = min(max(0, round(centre[1] * source_height - crop_h / 2)), source_height - crop_h)
    crop = picture[top : top + crop_h, left : left + crop_w]
    scaled = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    return np.asarray(scaled, np.uint8)
