"""The pipeline: spec in, finished video and thumbnail out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog
from PIL import Image

from engine._encoder import FPS, encode
from engine._errors import IngestError, RenderError
from engine._ingest import load_portrait
from engine._mixing import MIX_RATE, mix, to_mix_rate
from engine._models import Language, RenderResult, RenderSpec
from engine._music import render_music
from engine._painter import HEIGHT, WIDTH, paint_background
from engine._scene import Scene, Timeline
from engine._speech import Cue, Speech, choose_voice, sender_f0, speak
from engine._templates import Template, load_template

_log = structlog.get_logger(__name__)

_THUMBNAIL_SIZE = (320, 180)
_THUMBNAIL_QUALITY = 82


def render(spec: RenderSpec) -> RenderResult:
    """Render the greeting; raises IngestError for unusable media, RenderError otherwise.

    Any other failure is wrapped in RenderError so callers handle exactly two exception types.
    """
    try:
        return _render(spec)
    except (IngestError, RenderError):
        raise
    except Exception as exc:
        raise RenderError(f"render {spec.render_id} failed: {exc!r}") from exc


def _render(spec: RenderSpec) -> RenderResult:
    started = time.monotonic()
    template = load_template(spec.template_id)
    portrait = load_portrait(spec.portrait)
    sentences = greeting_sentences(template, spec.language, spec.recipient, spec.sender)
    voice = choose_voice(spec.language, sender_f0(spec.voice_samples))
    _log.info("voice_chosen", render_id=spec.render_id, voice=voice.espeak_voice,
              pitch=voice.pitch, target_f0_hz=voice.target_f0_hz)  # fmt: skip
    speech = _fit(
        speak(sentences, spec.language, voice, template.timing.sentence_pause_s), template
    )
    timing = template.timing
    speech_start = timing.intro_s + timing.lead_in_s
    duration = min(
        max(speech_start + speech.duration_s + timing.outro_s, template.duration.min_s),
        template.duration.max_s,
    )
    frame_count = round(duration * FPS)
    duration = frame_count / FPS
    cues = tuple(Cue(c.text, speech_start + c.start_s, speech_start + c.end_s) for c in speech.cues)
    timeline = Timeline(
        duration_s=duration,
        intro_s=timing.intro_s,
        outro_start_s=max(cues[-1].end_s + 0.3, duration - timing.outro_s),
        cues=cues,
    )
    audio = mix(
        to_mix_rate(speech.samples, speech.rate),
        speech_start,
        [(c.start_s, c.end_s) for c in cues],
        render_music(template.music, duration, MIX_RATE),
    )
    scene = Scene(
        background=paint_background(template.palette),
        portrait=portrait,
        frame_colour=template.palette.frame,
        language=spec.language,
        titles=(template.intro_title.pick(spec.language), template.outro_title.pick(spec.language)),
        timeline=timeline,
    )
    spec.output_dir.mkdir(parents=True, exist_ok=True)
    video = spec.output_dir / f"{spec.render_id}.mp4"
    thumbnail = spec.output_dir / f"{spec.render_id}.jpg"
    with _atomic(video) as partial:
        encode((scene.frame_at(i / FPS) for i in range(frame_count)), audio, partial)
    with _atomic(thumbnail) as partial:
        _write_thumbnail(
            scene.frame_at(cues[0].start_s + 0.5 * (cues[0].end_s - cues[0].start_s)), partial
        )
    greeting = _join(spec.language, [c.text for c in speech.cues])
    _log.info("render_done", render_id=spec.render_id, seconds=round(time.monotonic() - started, 2),
              duration_s=duration)  # fmt: skip
    return RenderResult(
        video=video,
        thumbnail=thumbnail,
        duration_s=duration,
        width=WIDTH,
        height=HEIGHT,
        size_bytes=video.stat().st_size,
        greeting_text=greeting,
    )


def greeting_sentences(
    template: Template, language: Language, recipient: str, sender: str
) -> list[str]:
    """Fill the placeholders; sentences that name the sender are dropped when there is none."""
    return [
        sentence.format(recipient=recipient.strip(), sender=sender.strip())
        for sentence in template.greetings.pick(language)
        if sender.strip() or "{sender}" not in sentence
    ]


def _fit(speech: Speech, template: Template) -> Speech:
    """Drop trailing sentences that would push the video past the template's maximum length."""
    timing = template.timing
    budget = template.duration.max_s - timing.intro_s - timing.lead_in_s - timing.outro_s
    kept = tuple(c for c in speech.cues if c.end_s <= budget)
    if not kept:
        raise RenderError(f"the first sentence alone is longer than {budget:.1f} s")
    if len(kept) == len(speech.cues):
        return speech
    samples = speech.samples[: int(kept[-1].end_s * speech.rate)]
    return Speech(samples=samples, rate=speech.rate, cues=kept)


def _join(language: Language, sentences: list[str]) -> str:
    return ("" if language.startswith("zh") else " ").join(sentences)


def _write_thumbnail(frame: npt.NDArray[np.uint8], path: Path) -> None:
    image = Image.fromarray(frame).resize(_THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    image.save(path, format="JPEG", quality=_THUMBNAIL_QUALITY, optimize=True)


@contextmanager
def _atomic(final: Path) -> Iterator[Path]:
    """Yield a hidden sibling path and rename it into place only if the block succeeds."""
    partial = final.with_name(f".{final.name}.partial")
    try:
        yield partial
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
