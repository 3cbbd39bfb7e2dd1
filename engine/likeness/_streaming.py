"""Speech that arrives in chunks: where each chunk sits, how loud it is, the whole it makes.

A streaming backend yields ``SpeechChunk``s in order, so a render can start composing as soon
as the first one is there; ``assemble`` turns the same chunks into the ``Speech`` every other
backend returns, so both ways of consuming a backend hear identical audio and cues.

Level: the default backend speaks at espeak's own level, about -18 dBFS over the speech
(measured -17 to -19 dB on the templates' sentences); a cloning model's output level depends
on the voice it imitates. Bringing each sentence to the same gated level keeps the music/voice
balance of ``engine/_mixing.py`` (which levels the whole voice track, pauses included) the
same whichever backend spoke.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine._speech import Cue, Speech

SPEECH_LEVEL_DBFS = -18.0
_FRAME_S = 0.02
_ABSOLUTE_GATE_DB = -60.0  # frames below this are silence, whatever the voice
_RELATIVE_GATE_DB = -10.0  # and frames this far below the speech's mean are pauses and tails
# The gates already ignore silence; this bounds the boost for a chunk holding only a breath.
# (Random weights' output sits around -37 dBFS; a real voice should need far less.)
_MAX_GAIN_BOOST_DB = 24.0


@dataclass(frozen=True)
class SpeechChunk:
    """A piece of one sentence's audio, placed on the speech track of the whole greeting.

    ``last`` marks the sentence's final chunk: its end is where the sentence's cue ends.
    """

    sentence: int
    start_s: float
    samples: npt.NDArray[np.float32]
    rate: int
    last: bool

    @property
    def end_s(self) -> float:
        return self.start_s + len(self.samples) / self.rate


def assemble(sentences: Sequence[str], chunks: Iterable[SpeechChunk]) -> Speech:
    """One ``Speech`` from a backend's chunks, silence filling the pauses between them."""
    pieces: list[npt.NDArray[np.float32]] = []
    starts: dict[int, float] = {}
    cues: list[Cue] = []
    rate = 0
    filled = 0
    for chunk in chunks:
        rate = chunk.rate
        starts.setdefault(chunk.sentence, chunk.start_s)
        gap = round(chunk.start_s * rate) - filled
        if gap > 0:
            pieces.append(np.zeros(gap, np.float32))
            filled += gap
        pieces.append(chunk.samples)
        filled += len(chunk.samples)
        if chunk.last:
            text = sentences[chunk.sentence]
            cues.append(Cue(text=text, start_s=starts[chunk.sentence], end_s=filled / rate))
    if len(cues) != len(sentences):
        raise ValueError(f"{len(sentences)} sentences but {len(cues)} finished in the chunks")
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Speech(samples=audio, rate=rate, cues=tuple(cues))


def speech_level_db(samples: npt.NDArray[np.float32], rate: int) -> float | None:
    """Gated mean power in dBFS, as BS.1770 gates loudness but without its K-filter.

    Pauses and trailing breaths do not pull the figure down, so a sentence with a long tail
    is not turned up for it. None when nothing is above the absolute gate.
    """
    frame = max(1, round(_FRAME_S * rate))
    count = len(samples) // frame
    if count == 0:
        return None
    power = np.mean(
        np.square(samples[: count * frame].reshape(count, frame), dtype=np.float64), axis=1
    )
    loud = power[power > 10 ** (_ABSOLUTE_GATE_DB / 10)]
    if not len(loud):
        return None
    gate = np.mean(loud) * 10 ** (_RELATIVE_GATE_DB / 10)
    return float(10 * np.log10(np.mean(loud[loud > gate])))


def level_gain(samples: npt.NDArray[np.float32], rate: int) -> float:
    """The gain that brings ``samples`` to the default voice's speech level (1 for silence)."""
    level = speech_level_db(samples, rate)
    if level is None:
        return 1.0
    return float(10 ** (min(SPEECH_LEVEL_DBFS - level, _MAX_GAIN_BOOST_DB) / 20))
