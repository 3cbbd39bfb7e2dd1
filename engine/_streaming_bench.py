"""``tuanyuan bench streaming``: how much of the voice's time a render hides by composing while
the voice is still speaking.

For each voice the same greeting is spoken alone (S: the voice's whole time), composed alone
from that very speech replayed at once (C: the picture's whole time), and rendered as the
service renders it, the picture composed while the voice speaks (R). Waiting for the whole
speech before composing would cost S + C, measured here in the same run: R / (S + C) is the
gain, and "hidden" the share of the shorter of S and C that the overlap took off (1.0 when
the render takes no longer than the longer of the two alone).

Voices: the embedded one; its recording released at a set real-time factor with this
machine's CPU left idle, which is what a voice on another device (a GPU) looks like to the
render; and, when asked for, XTTS-v2 on this machine's CPU (the operator's weights, else
full-size random ones), where voice and picture share the same cores.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from engine._models import Language, RenderSpec
from engine._render import Stages, greeting_sentences, render_template
from engine._stand_in import stand_in_portrait
from engine._templates import Template, load_template
from engine.likeness import (
    EspeakWorldVoice,
    RecordedVoice,
    SpeechChunk,
    VoiceBackend,
    VoiceSelection,
    XttsVoice,
)
from engine.likeness._xtts_random import RandomXtts, write_random_xtts

_TEMPLATE = "mid-autumn"
_LANGUAGE: Language = "zh-Hant"
_LONGEST_S = 120.0  # random XTTS weights read slowly: no sentence may be cut from the greeting


@dataclass(frozen=True)
class Overlap:
    voice: str
    audio_s: float  # the greeting's speech, pauses included
    video_s: float
    speak_s: float  # S
    compose_s: float  # C
    render_s: float  # R

    @property
    def ratio(self) -> float:
        return self.render_s / (self.speak_s + self.compose_s)

    @property
    def hidden(self) -> float:
        saved = self.speak_s + self.compose_s - self.render_s
        return saved / min(self.speak_s, self.compose_s)


def run(
    out: TextIO, height: int = 720, pace: float = 0.5, xtts: bool = False,
    xtts_dir: Path | None = None, repeats: int = 3,
) -> list[Overlap]:  # fmt: skip
    """Print one row per voice and return them."""
    template = load_template(_TEMPLATE)
    template = template.model_copy(
        update={"duration": template.duration.model_copy(update={"max_s": _LONGEST_S})}
    )
    sentences = greeting_sentences(template, _LANGUAGE, "外婆", "小明")
    rows: list[Overlap] = []
    out.write(_HEADER.format(height=height, cpus=os.cpu_count()))
    with tempfile.TemporaryDirectory(prefix="tuanyuan-bench-streaming-") as scratch:
        folder = Path(scratch)
        photo = folder / "portrait.jpg"
        stand_in_portrait().save(photo, quality=90)

        def measure(voice: VoiceBackend, label: str, times: int = repeats) -> None:
            rows.append(_measure(folder, photo, template, sentences, height, voice, label, times))
            out.write(_row(rows[-1]))
            out.flush()

        recorded = tuple(EspeakWorldVoice().stream(sentences, _LANGUAGE, None))
        # Fonts, espeak's reference voice and numpy's first calls: paid before any timing.
        _measure(folder, photo, template, sentences, height, RecordedVoice(recorded), "", 1)
        measure(EspeakWorldVoice(), "espeak-world (this CPU)")
        measure(
            RecordedVoice(recorded, lambda chunk: time.sleep(pace * _seconds(chunk))),
            f"espeak-world's recording at RTF {pace} (a voice on another device)",
        )
        if xtts:
            if xtts_dir is None:
                xtts_dir = folder / "xtts"
                write_random_xtts(xtts_dir, RandomXtts(stock_voice=True))
                weights = "random full-size weights"
            else:
                weights = "operator's weights"
            voice = XttsVoice.load(xtts_dir)
            tuple(voice.stream(sentences[:1], _LANGUAGE, None))  # its first call sets up kernels
            measure(voice, f"XTTS-v2, {weights} ({voice.device})", times=1)  # minutes each
    return rows


def _measure(
    folder: Path,
    photo: Path,
    template: Template,
    sentences: Sequence[str],
    height: int,
    voice: VoiceBackend,
    label: str,
    repeats: int,
) -> Overlap:
    """S, C and R in turn ``repeats`` times, the fastest of each counting: a burst of other
    work on a shared machine then skews one sample rather than the result."""
    spec = RenderSpec(
        render_id="bench", template_id=template.id, language=_LANGUAGE, portrait=photo,
        recipient="外婆", sender="小明", output_dir=folder,
    )  # fmt: skip

    def render(backend: VoiceBackend) -> tuple[float, float]:
        begun = time.perf_counter()
        result = render_template(
            spec, template, Stages(), scale=height / 720, voice=VoiceSelection(backend, "bench")
        )
        return time.perf_counter() - begun, result.duration_s

    speaks, composes, renders = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        chunks = tuple(voice.stream(sentences, _LANGUAGE, None))
        speaks.append(time.perf_counter() - started)
        composes.append(render(RecordedVoice(chunks))[0])
        render_s, video_s = render(voice)
        renders.append(render_s)
    audio_s = max(chunk.end_s for chunk in chunks)
    return Overlap(label, audio_s, video_s, min(speaks), min(composes), min(renders))


def _seconds(chunk: SpeechChunk) -> float:
    return len(chunk.samples) / chunk.rate


_HEADER = (
    "Greeting: mid-autumn, zh-Hant, 4 sentences, talking portrait, {height}p; {cpus} CPUs.\n\n"
    "| voice | speech s | video s | S: voice alone s | C: composition alone s "
    "| R: streamed render s | R / (S + C) | hidden |\n"
    "|---|---|---|---|---|---|---|---|\n"
)


def _row(row: Overlap) -> str:
    return (
        f"| {row.voice} | {row.audio_s:.1f} | {row.video_s:.1f} | {row.speak_s:.1f} "
        f"| {row.compose_s:.1f} | {row.render_s:.1f} | {row.ratio:.2f} | {row.hidden:.0%} |\n"
    )
