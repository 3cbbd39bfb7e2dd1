"""Speech as every voice backend returns it: the samples and one cue per sentence.

Sentences are synthesised one by one so each subtitle cue starts and ends exactly with its audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Cue:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Speech:
    samples: npt.NDArray[np.float32]
    rate: int
    cues: tuple[Cue, ...]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate
