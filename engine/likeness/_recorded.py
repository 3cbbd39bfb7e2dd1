"""A voice that says again what another voice said: the very same chunks, on a schedule.

Benchmarks replay a recording to time composition alone, or pace it as a voice running on
another device would arrive; tests hold a sentence back to see what the render does meanwhile.
Replaying also gives the same speech every time, which espeak-ng itself does not (it varies
its output slightly between calls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from engine._models import SpokenLanguage
from engine.likeness._profile import SpeakerProfile
from engine.likeness._streaming import SpeechChunk
from engine.likeness._voice import Clip, StreamingVoice


def _no_wait(_: SpeechChunk) -> None:
    return None


class RecordedVoice(StreamingVoice):
    """Replays ``chunks`` (from a backend's ``stream``), calling ``before(chunk)`` ahead of each."""

    def __init__(
        self,
        chunks: Sequence[SpeechChunk],
        before: Callable[[SpeechChunk], None] = _no_wait,
        name: str = "recorded",
    ) -> None:
        self._chunks = tuple(chunks)
        self._before = before
        self.name = name

    def enrol(self, clips: Sequence[Clip]) -> bytes | None:
        return None

    def stream(
        self, sentences: Sequence[str], language: SpokenLanguage, profile: SpeakerProfile | None
    ) -> Iterator[SpeechChunk]:
        """The recording, whatever is asked: it must have been made of these sentences."""
        recorded = len({chunk.sentence for chunk in self._chunks})
        if recorded != len(sentences):
            raise ValueError(f"a recording of {recorded} sentences cannot speak {len(sentences)}")
        for chunk in self._chunks:
            self._before(chunk)
            yield chunk
