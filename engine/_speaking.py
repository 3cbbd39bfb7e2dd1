"""A voice speaking on its own thread while the render composes what it has already said.

``SpeechFeed`` runs a backend's ``stream`` on a thread, so synthesis (torch, espeak and WORLD
release the GIL for their heavy parts) overlaps composition and encoding. ``SpokenSoFar`` is the
render's side: it takes chunks only when a frame needs more speech, tells which sentences are
settled, and stops the voice as soon as a sentence would run past the template's longest
greeting, so no time goes into words that would be cut.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from types import TracebackType

import numpy as np
import numpy.typing as npt

from engine._errors import RenderError
from engine._speech import Cue, Speech
from engine.likeness import SpeechChunk, SpeechTrack


class VoiceFailed(Exception):
    """The backend raised while speaking; ``error`` is what it raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


_END = object()


class SpeechFeed:
    """A backend's chunks, produced ahead on a thread of their own, taken in order.

    Use as a context manager: leaving it stops the voice after the chunk it is working on.
    """

    def __init__(self, chunks: Iterator[SpeechChunk]) -> None:
        self._chunks = chunks
        self._queue: queue.Queue[object] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._speak, name="render-voice", daemon=True)

    def __enter__(self) -> SpeechFeed:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
        self._thread.join()

    def stop(self) -> None:
        """Ask the voice to stop after the chunk it is working on; what it made is dropped."""
        self._stop.set()

    def next(self) -> SpeechChunk | None:
        """The next chunk, waiting for it; None once the voice has said everything.

        Raises VoiceFailed if the backend raised.
        """
        item = self._queue.get()
        if item is _END:
            self._queue.put(_END)  # every later call sees the end too
            return None
        if isinstance(item, BaseException):
            self._queue.put(_END)
            raise VoiceFailed(item)
        assert isinstance(item, SpeechChunk)
        return item

    def _speak(self) -> None:
        try:
            for chunk in self._chunks:
                if self._stop.is_set():
                    break
                self._queue.put(chunk)
        except Exception as error:  # handed to the render, which decides what to do
            self._queue.put(error)
        finally:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
            self._queue.put(_END)


class SpokenSoFar:
    """The greeting as far as the voice has spoken it, keeping only what fits ``budget_s``."""

    def __init__(self, feed: SpeechFeed, sentences: Sequence[str], budget_s: float) -> None:
        self._feed = feed
        self._track = SpeechTrack(sentences)
        self._count = len(sentences)
        self._budget_s = budget_s
        self._kept: int | None = None  # sentences kept, once the voice is done

    @property
    def finished(self) -> bool:
        return self._kept is not None

    @property
    def cues(self) -> list[Cue]:
        """Every settled sentence that is kept, on the speech's clock."""
        return self._track.cues[: self._kept]

    @property
    def rate(self) -> int:
        return self._track.rate

    def settle_until(self, t: float) -> None:
        """Take chunks until every sentence begun by t is settled, or the voice is done.

        Exactly as many as that: what is settled depends on t alone, not on timing.
        """
        while not self.finished and (not self._track.cues or self._track.cues[-1].end_s < t):
            chunk = self._feed.next()
            if chunk is None:
                said = len(self._track.cues)
                raise VoiceFailed(RuntimeError(f"the voice stopped after {said} of "
                                               f"{self._count} sentences"))  # fmt: skip
            elif chunk.end_s > self._budget_s:
                self._done(chunk.sentence)  # this sentence would be cut: it and the rest go
            else:
                self._track.add(chunk)
                if len(self._track.cues) == self._count:
                    self._done(self._count)

    def samples(self, start_s: float, end_s: float) -> npt.NDArray[np.float32]:
        """The speech between two times on its clock (silence where it pauses)."""
        return self._track.samples(start_s, end_s)

    def speech(self) -> Speech:
        """Everything kept, once the voice is done."""
        assert self._kept is not None, "the voice is still speaking"
        return self._track.speech(self._kept)

    def _done(self, kept: int) -> None:
        self._feed.stop()
        if kept == 0:
            raise RenderError(f"the first sentence alone is longer than {self._budget_s:.1f} s")
        self._kept = kept
