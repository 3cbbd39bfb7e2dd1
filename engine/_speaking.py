"""The voice speaking while the render composes what it has already said.

``speak_while`` runs the composition on a thread and the backend's ``stream`` on the calling
thread. The other way round, XTTS on two CPU cores spoke a sentence 18-36% slower (its intra-op
threads less busy from a second Python thread) and a whole render took 96.6 s instead of 80.8 s;
composition (numpy, OpenCV, ffmpeg in its own process) releases the GIL for its heavy parts
from any thread.
``SpokenSoFar`` is the composition's side: it takes chunks only when a frame needs more speech,
tells which sentences are settled, and stops the voice as soon as a sentence would run past the
template's longest greeting, so no time goes into words that would be cut.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from engine._errors import RenderError
from engine._speech import Cue, Speech
from engine.likeness import SpeechChunk, SpeechTrack

Composed = TypeVar("Composed")


class VoiceFailed(Exception):
    """The backend raised while speaking; ``error`` is what it raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


_END = object()


class SpeechFeed:
    """The voice's chunks, handed from the thread speaking to the thread composing, in order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self._stop = threading.Event()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

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

    def put(self, item: object) -> None:
        """A chunk, the backend's exception, or the end: from the speaking thread only."""
        self._queue.put(item)


def speak_while(
    chunks: Iterator[SpeechChunk], compose: Callable[[SpeechFeed], Composed]
) -> Composed:
    """``compose(feed)`` on a thread of its own while ``chunks`` are produced here.

    The voice stops as soon as the composition has what it needs or fails; a backend failure
    reaches the composition as VoiceFailed. Whatever ``compose`` raises is raised here.
    """
    feed = SpeechFeed()
    outcome: list[Composed] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(compose(feed))
        except BaseException as error:  # handed to the calling thread, raised there
            failure.append(error)
        finally:
            feed.stop()

    composer = threading.Thread(target=run, name="render-compose", daemon=True)
    composer.start()
    try:
        for chunk in chunks:
            if feed.stopped:
                break
            feed.put(chunk)
    except Exception as error:  # the voice failed: the composition decides what that means
        feed.put(error)
    finally:
        feed.put(_END)  # always: a composition still waiting sees the end, however this ended
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
        composer.join()
    if failure:
        raise failure[0]
    return outcome[0]


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
