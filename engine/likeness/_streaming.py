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


class SpeechTrack:
    """Chunks laid end to end on one track, silence filling the pauses between them.

    ``add`` returns the sentence's cue when its last chunk arrives, so a consumer knows the
    moment a sentence is settled; ``assemble`` and a streaming render share this one place
    where chunks become a track.
    """

    def __init__(self, sentences: Sequence[str]) -> None:
        self._sentences = tuple(sentences)
        self._pieces: list[npt.NDArray[np.float32]] = []
        self._starts: dict[int, float] = {}
        self.cues: list[Cue] = []
        self.rate = 0
        self._filled = 0

    @property
    def end_s(self) -> float:
        """Where the audio received so far ends."""
        return self._filled / self.rate if self.rate else 0.0

    def add(self, chunk: SpeechChunk) -> Cue | None:
        if self.rate and chunk.rate != self.rate:
            raise ValueError(f"a chunk at {chunk.rate} Hz in speech at {self.rate} Hz")
        self.rate = chunk.rate
        self._starts.setdefault(chunk.sentence, chunk.start_s)
        gap = round(chunk.start_s * chunk.rate) - self._filled
        if gap > 0:
            self._pieces.append(np.zeros(gap, np.float32))
            self._filled += gap
        self._pieces.append(chunk.samples)
        self._filled += len(chunk.samples)
        if not chunk.last:
            return None
        cue = Cue(self._sentences[chunk.sentence], self._starts[chunk.sentence], self.end_s)
        self.cues.append(cue)
        return cue

    def samples(self, start_s: float = 0.0, end_s: float | None = None) -> npt.NDArray[np.float32]:
        """The track between two times, as far as it has arrived."""
        audio = np.concatenate(self._pieces) if self._pieces else np.zeros(0, np.float32)
        self._pieces = [audio]
        rate = self.rate or 1
        stop = len(audio) if end_s is None else round(end_s * rate)
        return audio[round(start_s * rate) : stop]

    def speech(self, sentences: int | None = None) -> Speech:
        """The first ``sentences`` finished sentences (all of them by default) as one Speech."""
        cues = tuple(self.cues[:sentences])
        end = cues[-1].end_s if cues and sentences is not None else None
        return Speech(samples=self.samples(0.0, end), rate=self.rate, cues=cues)


def assemble(sentences: Sequence[str], chunks: Iterable[SpeechChunk]) -> Speech:
    """One ``Speech`` from a backend's chunks, every sentence finished."""
    track = SpeechTrack(sentences)
    for chunk in chunks:
        track.add(chunk)
    if len(track.cues) != len(sentences):
        raise ValueError(f"{len(sentences)} sentences but {len(track.cues)} finished in the chunks")
    return track.speech()


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
