"""The pipeline: spec in, finished video and thumbnail out.

The picture is composed and encoded while the voice is still speaking (see ``_Canvas.compose``):
with a cloning model the speech takes as long as the composition or longer, and a greeting
should not cost the sum of both. The sound is mixed and encoded beside the picture from the
frame at which the greeting's length is known, and the two are muxed at the end.

Three seams are kept for the layers that wrap composition (see ``Stages``): the portrait layer
produced per frame, each final RGB frame before encoding, and the final mix before encoding.

A caller waiting on a render may follow it (``RenderProgress``): the voice's setup, the
picture's frames as they are encoded, then mixing, marking and signing. A caller who wants the
greeting made again asks for another ``Take`` of the same spec.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import numpy as np
import numpy.typing as npt
import structlog
from PIL import Image

from engine._encoder import FPS, encode_picture, encode_sound, fit_to_limit, mux
from engine._errors import IngestError, RenderError
from engine._greeting import greeting_sentences as greeting_sentences  # for _streaming_bench
from engine._greeting import join_sentences
from engine._ingest import load_subject
from engine._marking import Marks, container_args
from engine._mixing import MIX_RATE, mix, to_mix_rate
from engine._models import (
    VIDEO_NOTE_SIDE,
    FaceBox,
    LikenessMode,
    RenderProgress,
    RenderResult,
    RenderSpec,
    RenderStage,
)
from engine._music import render_music
from engine._painter import Backdrop, festival_backdrop
from engine._scene import (
    FULL_SIZE,
    Frame,
    KenBurns,
    Look,
    PortraitLayer,
    Scene,
    canvas_size,
    label_corner,
    portrait_window,
    titles_area,
)
from engine._speaking import SpeechFeed, SpokenSoFar, VoiceFailed, speak_while
from engine._speech import Speech
from engine._subject import FootageReel, TalkingKenBurns
from engine._templates import VIDEO_NOTE_LAYOUT, Layout, Motion, Template, Timing, load_template
from engine._timeline import Timeline
from engine.likeness import (
    SPEECH_LOOKAHEAD_S,
    ClipAssessment,
    EspeakWorldVoice,
    MouthTrack,
    SpeakerProfile,
    VoiceBackend,
    VoiceSelection,
    assess_clip,
    choose_mode,
    enrolled_profile,
    plan_footage,
    select_voice,
)

_log = structlog.get_logger(__name__)

THUMBNAIL_MAX_SIDE = 320
THUMBNAIL_MAX_BYTES = 200_000
_THUMBNAIL_QUALITIES = (85, 75, 60, 45)
_PREVIEW_SCALE = 0.5
_PREVIEW_CARD_S = 1.0
_PRESET = {"full": "veryfast", "preview": "superfast"}
# The whole render's progress at the end of its stages: the voice chosen and enrolled, the
# picture encoded (the bulk of a render), the sound muxed with the AIGC metadata; signing,
# the thumbnail and the profile make up the rest. A caller is told in steps of at least 1%.
_SET_UP = 0.05
_ENCODED = 0.9
_MUXED = 0.95
_PROGRESS_STEP = 0.01
_MOTIONS: tuple[Motion, ...] = get_args(Motion)
_CARD_SPREAD = 0.2  # a take's intro and outro cards: within 20% of the template's
_FRAMING_SPREAD = 0.1  # a take's head-and-shoulders crop: up to 10% closer or wider

Audio = npt.NDArray[np.float32]
PortraitFactory = Callable[[Image.Image, tuple[int, int], FaceBox, Motion], PortraitLayer]


def _same_frame(frame: Frame, _: float) -> Frame:
    return frame


def _same_mix(audio: Audio, _: int) -> Audio:
    return audio


@dataclass(frozen=True)
class Stages:
    """Where later layers plug into the pipeline without touching composition or encoding.

    ``portrait``, when given, replaces the likeness the material allows (talking photo or
    footage) with another per-frame subject layer built from the upright photo, window size,
    face to feature and the template's camera motion; ``frame_filter`` sees each final RGB
    frame and its time before encoding; ``mix_filter`` sees the final mono mix and its sample
    rate before encoding.
    """

    portrait: PortraitFactory | None = None
    frame_filter: Callable[[Frame, float], Frame] = _same_frame
    mix_filter: Callable[[Audio, int], Audio] = _same_mix


def render(
    spec: RenderSpec,
    stages: Stages | None = None,
    progress: Callable[[RenderProgress], None] | None = None,
) -> RenderResult:
    """Render the greeting; raises IngestError for unusable media, RenderError otherwise.

    Any other failure is wrapped in RenderError so callers handle exactly two exception types.
    A spec without a consent reference that is current now is refused before any work.

    ``progress`` is told how far the render has got, at most about a hundred times, ending
    with "done" at 1.0. It is called from the thread composing the picture while the voice
    speaks, and from the calling thread otherwise (never from both at once): it should be
    quick and hand the news on (to a pipe, a queue, ``call_soon_threadsafe``), not block.
    """
    spec.require_current_consent()
    try:
        return render_template(
            spec, load_template(spec.template_id), stages or Stages(), progress=progress
        )
    except (IngestError, RenderError):
        raise
    except Exception as exc:
        raise RenderError(f"render {spec.render_id} failed: {exc!r}") from exc


def render_template(
    spec: RenderSpec,
    template: Template,
    stages: Stages,
    scale: float | None = None,
    voice: VoiceSelection | None = None,
    progress: Callable[[RenderProgress], None] | None = None,
) -> RenderResult:
    """Render with an already loaded (possibly adjusted) template: the benchmark's entry point.

    ``voice`` overrides the backend ``select_voice`` would pick (benchmarks and tests);
    ``progress`` is as for ``render``.
    """
    started = time.monotonic()
    told = _Progress(progress)
    told("voice", 0.0)
    preview = spec.mode == "preview"
    take = Take.of(spec.take, template)
    template = take.apply(template)
    if preview:
        template = _preview_cut(template)
    full = VIDEO_NOTE_SIDE / FULL_SIZE["1:1"][0] if spec.video_note else 1.0
    size = canvas_size(spec.aspect, scale or (_PREVIEW_SCALE if preview else full))
    # The photo and clip checks and the backdrop need no speech: they run beside enrolment.
    # dlib, PyAV, Pillow and numpy release the GIL for their heavy parts.
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="render-setup")
    photo = pool.submit(load_subject, spec.portrait, spec.face_index) if spec.portrait else None
    clips = (
        [] if spec.likeness == "portrait" else [pool.submit(assess_clip, p) for p in spec.footage]
    )
    layout = _layout(template, spec)
    backdrop = pool.submit(_backdrop, template, layout, size, spec.video_note)
    pool.shutdown(wait=False)
    sentences = greeting_sentences(
        template, spec.language, spec.recipient, spec.sender, spec.subject, spec.message
    )[: 1 if preview else None]
    selection = voice or select_voice(
        spec.xtts_dir,
        spec.speaks,
        has_samples=bool(spec.voice_samples or spec.speaker_profile),
        voxcpm_dir=spec.voxcpm_dir,
        licence=spec.voice_licence,
        forced=spec.voice_backend,
    )
    cached = spec.speaker_profile.read_bytes() if spec.speaker_profile is not None else None
    profile, changed = enrolled_profile(cached, spec.voice_samples, selection.backend)
    subject = _subject(spec, photo, [clip.result() for clip in clips])
    told("voice", _SET_UP)
    marks = Marks(spec, spec.marking, size) if spec.marking is not None else None
    canvas = _Canvas(spec, template, take, stages, size, subject, backdrop.result(), marks)
    spec.output_dir.mkdir(parents=True, exist_ok=True)
    video = spec.output_dir / f"{spec.render_id}.mp4"
    thumbnail = spec.output_dir / f"{spec.render_id}.jpg"
    backend, reason = selection.backend, selection.reason
    # Intermediate files live beside the output: the caller's scratch, which it deletes.
    with tempfile.TemporaryDirectory(prefix="tuanyuan-render-", dir=spec.output_dir) as scratch:
        picture, sound = Path(scratch) / "picture.mp4", Path(scratch) / "sound.mp4"
        try:
            composed = canvas.compose(sentences, backend, profile, picture, sound,
                                      told.composing())  # fmt: skip
        except VoiceFailed as failed:
            # A greeting never changes voice halfway: the default says all of it again.
            if isinstance(backend, EspeakWorldVoice):
                raise failed.error from None
            _log.warning("voice_failed", render_id=spec.render_id, voice=backend.name,
                         error=repr(failed.error))  # fmt: skip
            backend = EspeakWorldVoice()
            reason = f"{selection.backend.name} failed while speaking: {failed.error}"
            profile, more = enrolled_profile(
                profile.to_bytes() if profile else cached, spec.voice_samples, backend
            )
            changed = changed or more
            composed = canvas.compose(sentences, backend, profile, picture, sound,
                                      told.composing())  # fmt: skip
        _log.info("voice_chosen", render_id=spec.render_id, voice=backend.name, reason=reason,
                  spoken_language=spec.speaks, profile="computed" if changed else (
                      "cached" if profile is not None else "none"))  # fmt: skip
        speech, timeline, scene = composed.speech, composed.timeline, composed.scene
        assert timeline.duration_s is not None
        duration = timeline.duration_s
        told("marking", _ENCODED)
        with _atomic(video) as partial:
            mux(picture, sound, partial, container_args(marks))
            fit_to_limit(partial, duration, container_args=container_args(marks))
            told("marking", _MUXED)
            if marks is not None:
                marks.sign(partial)
    first = timeline.cues[0]
    middle = first.start_s + 0.5 * (first.end_s - first.start_s)
    with _atomic(thumbnail) as partial:
        write_thumbnail(stages.frame_filter(scene.frame_at(middle), middle), partial)
    profile_path = None
    if changed and profile is not None:
        profile_path = spec.output_dir / f"{spec.render_id}.profile"
        with _atomic(profile_path) as partial:
            partial.write_bytes(profile.to_bytes())
    greeting = join_sentences(spec.language, [c.text for c in speech.cues])
    _log.info("render_done", render_id=spec.render_id, seconds=round(time.monotonic() - started, 2),
              duration_s=duration, aspect=spec.aspect, mode=spec.mode, likeness=subject.mode,
              voice=backend.name, voice_done_at_frame_s=timeline.finished_at_s)  # fmt: skip
    told("done", 1.0)
    return RenderResult(
        video=video,
        thumbnail=thumbnail,
        duration_s=duration,
        width=size[0],
        height=size[1],
        size_bytes=video.stat().st_size,
        greeting_text=greeting,
        likeness=subject.mode,
        voice=backend.name,
        voice_reason=reason,
        speaker_profile=profile_path,
    )


class _Progress:
    """The whole render's progress from each stage's own, for the caller's ``progress``.

    Never backwards: a composition started again with the default voice counts on from where
    the failed one had got. A stage's news is passed on at each step of ``_PROGRESS_STEP``.
    """

    def __init__(self, callback: Callable[[RenderProgress], None] | None) -> None:
        self._callback = callback
        self._fraction = 0.0
        self._told: RenderProgress | None = None

    def __call__(self, stage: RenderStage, fraction: float) -> None:
        self._fraction = max(self._fraction, min(fraction, 1.0))
        told = self._told
        if self._callback is None or (
            told is not None
            and told.stage == stage
            and self._fraction < told.fraction + _PROGRESS_STEP
        ):
            return
        self._told = RenderProgress(stage=stage, fraction=self._fraction)
        self._callback(self._told)

    def composing(self) -> Callable[[float], None]:
        """A composition's share of its frames, on what is left until the picture is encoded."""
        start = self._fraction

        def encoded(share: float) -> None:
            self("composing", start + (_ENCODED - start) * min(share, 1.0))

        return encoded


@dataclass(frozen=True)
class _Composed:
    """One composition's outcome: the picture is encoded, the sound still to be mixed."""

    speech: Speech
    timeline: Timeline
    scene: Scene


@dataclass(frozen=True)
class _Canvas:
    """What composition needs besides the speech: decided once, used again if the voice fails."""

    spec: RenderSpec
    template: Template
    take: Take
    stages: Stages
    size: tuple[int, int]
    subject: _Subject
    backdrop: Backdrop
    marks: Marks | None

    def compose(
        self,
        sentences: list[str],
        backend: VoiceBackend,
        profile: SpeakerProfile | None,
        picture: Path,
        sound: Path,
        encoded: Callable[[float], None],
    ) -> _Composed:
        """Encode the picture frame by frame on a thread while ``backend`` speaks on this one,
        and the sound (``_sound``) on a third from the frame at which the greeting's length is
        known: the last sentence is usually settled well before the last frame is drawn.

        Frame t is drawn once every sentence begun by t plus ``SPEECH_LOOKAHEAD_S`` is settled
        (its cue, mouth and blinks are then final), and the timeline learns each sentence at
        the first frame whose horizon it has begun by, not when it happened to arrive: the
        frames depend on the speech alone, never on the voice's speed. ``encoded`` hears, on
        the composing thread, the share of the frames handed to the encoder, counted against
        the length the timeline plans so far (exact once the voice is done). Raises
        VoiceFailed if the backend fails.
        """
        spec, template, timing = self.spec, self.template, self.template.timing
        speech_start = timing.intro_s + timing.lead_in_s
        timeline = Timeline(
            intro_s=timing.intro_s,
            transition_s=template.transitions.duration_s,
            speech_start_s=speech_start,
            outro_s=timing.outro_s,
            length_s=(template.duration.min_s, template.duration.max_s),
            sentences=sentences,
            language=spec.language,
            fps=FPS,
        )
        mouth = MouthTrack(start_s=speech_start)
        scene = self._scene(timeline, mouth)
        budget = template.duration.max_s - speech_start - timing.outro_s

        def draw(feed: SpeechFeed) -> Speech:
            spoken = SpokenSoFar(feed, sentences, budget)
            sounds = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render-sound")
            mixed: list[Future[Path]] = []

            def learn(t: float) -> None:
                """Tell the timeline and mouth every sentence begun by frame t's horizon."""
                horizon = t - speech_start + SPEECH_LOOKAHEAD_S
                spoken.settle_until(horizon)
                for cue in spoken.cues[len(timeline.cues) :]:
                    if cue.start_s > horizon:
                        return
                    mouth.extend(spoken.samples(mouth.heard_s, cue.end_s), spoken.rate)
                    timeline.add(cue, at_s=t)
                if spoken.finished and timeline.duration_s is None:
                    timeline.finish(at_s=t)
                    # The length is known: the sound needs nothing more from the picture.
                    mixed.append(sounds.submit(self._sound, spoken.speech(), timeline, sound))

            def frames() -> Iterator[Frame]:
                for index in itertools.count():
                    t = index / FPS
                    if t >= timeline.intro_s - timeline.transition_s:
                        learn(t)  # the intro card before it needs no speech: it is not waited on
                    encoded(index / timeline.planned_frame_count)
                    if timeline.frame_count is not None and index >= timeline.frame_count:
                        return
                    frame = self.stages.frame_filter(scene.frame_at(t), t)
                    yield frame if self.marks is None else self.marks.frame(frame)

            # Leaving the pool waits for the sound, so a failed picture leaves no thread writing.
            with sounds:
                encode_picture(frames(), picture, self.size, _PRESET[spec.mode])
                mixed[0].result()
            return spoken.speech()

        speech = speak_while(backend.stream(sentences, spec.speaks, profile), draw)
        return _Composed(speech, timeline, scene)

    def _sound(self, speech: Speech, timeline: Timeline, destination: Path) -> Path:
        """The greeting's mix (voice, music, ducking), its audio watermark, encoded."""
        assert timeline.duration_s is not None
        audio = self.stages.mix_filter(
            mix(
                to_mix_rate(speech.samples, speech.rate),
                timeline.speech_start_s,
                [(c.start_s, c.end_s) for c in timeline.cues],
                render_music(self.template.music, timeline.duration_s, MIX_RATE),
            ),
            MIX_RATE,
        )
        if self.marks is not None:
            audio = self.marks.mix(audio)
        return encode_sound(audio, destination)

    def _scene(self, timeline: Timeline, mouth: MouthTrack) -> Scene:
        template, subject, language = self.template, self.subject, self.spec.language
        layout = _layout(template, self.spec)
        window = portrait_window(layout, self.size, subject.footage_aspect)
        if self.stages.portrait is not None and subject.photo is not None:
            image, face = subject.photo
            portrait = self.stages.portrait(image, (window[2], window[3]), face, template.motion)
        else:
            portrait = _likeness_layer(
                self.spec, self.take, subject, mouth, timeline, window, template
            )
        return Scene(
            backdrop=self.backdrop,
            portrait=portrait,
            window=window,
            look=Look.of(template, layout, language, circle=self.spec.video_note),
            timeline=timeline,
        )


def _backdrop(template: Template, layout: Layout, size: tuple[int, int], circle: bool) -> Backdrop:
    """Painted beside enrolment: the titles' area takes a glow blur per language and title."""
    return festival_backdrop(
        template.palette, template.decorations, layout, *size,
        label_corner(*size, circle), titles_area(template, layout, *size), circle,
    )  # fmt: skip


@dataclass(frozen=True)
class _Subject:
    """What the render shows of the subject, once the material has been judged."""

    mode: LikenessMode
    photo: tuple[Image.Image, FaceBox] | None
    clips: tuple[ClipAssessment, ...]  # usable for footage mode, best first

    @property
    def footage_aspect(self) -> float | None:
        """The first clip's shape in footage mode (its window keeps it); None for the photo."""
        if self.mode != "footage":
            return None
        width, height = self.clips[0].size
        return width / height


def _subject(
    spec: RenderSpec,
    photo: Future[tuple[Image.Image, FaceBox]] | None,
    clips: list[ClipAssessment],
) -> _Subject:
    """Footage when a clip shows the person well, else the photo, unless the order forces one.

    A photo that fails its checks is no problem while usable footage stands in for it; when
    the photo is what the greeting needs, its own error (several faces, no face) is raised.
    """
    loaded, photo_error = None, None
    if photo is not None:
        try:
            loaded = photo.result()
        except IngestError as error:
            photo_error = error
    usable = tuple(sorted((c for c in clips if c.usable), key=lambda c: -c.score))
    try:
        mode = choose_mode(loaded is not None, clips, spec.likeness)
    except IngestError:
        if photo_error is not None and not usable:
            raise photo_error from None
        raise
    if mode == "portrait":
        return _Subject("portrait", loaded, ())
    return _Subject("footage", loaded, usable)


def _layout(template: Template, spec: RenderSpec) -> Layout:
    """The template's layout for the order's aspect, a close-up when the order asks for one."""
    if spec.video_note:
        return VIDEO_NOTE_LAYOUT
    layout = template.layouts[spec.aspect]
    return layout.model_copy(update={"shot": "close_up"}) if spec.close_up else layout


def _likeness_layer(
    spec: RenderSpec,
    take: Take,
    subject: _Subject,
    mouth: MouthTrack,
    timeline: Timeline,
    window: tuple[int, int, int, int],
    template: Template,
) -> PortraitLayer:
    """The family's clips under the narration, or the photo talking with the voice."""
    size = (window[2], window[3])
    layout = _layout(template, spec)
    if subject.mode == "footage":
        # The reel runs from the first frame the intro's transition reveals; it is planned for
        # the longest greeting, as the length is not known yet, and stops where the video does.
        start = timeline.intro_s - timeline.transition_s
        segments = plan_footage(subject.clips, template.duration.max_s - start)
        return FootageReel(segments, subject.clips, size, start)
    assert subject.photo is not None
    image, face = subject.photo
    seed = int.from_bytes(hashlib.sha256(spec.render_id.encode()).digest()[:4], "big")
    seed += take.blinks
    try:
        return TalkingKenBurns(
            image, size, face, template.motion, mouth, seed, take.framing, layout.shot
        )
    except IngestError as error:
        # dlib's landmarks missed a face its detector found: a still photo beats no greeting.
        _log.warning("talking_portrait_unavailable", render_id=spec.render_id, code=error.code)
        return KenBurns(image, size, face, template.motion, take.framing, layout.shot)


@dataclass(frozen=True)
class Take:
    """What "Make it again" changes: the same words, voice, music and likeness, shot again.

    Take 0 is the template as written. Take n draws, from generators seeded with the take
    numbers only (the same spec and take give the same frames):

    - the camera move, unlike the take before's (take 1's unlike the template's);
    - the intro and outro cards, each within 20% of the template's and the schema's bounds,
      together never longer than the template's: the voice keeps all the room the template
      gives it, so a take never drops a sentence that take 0 says, and the video's length
      stays within the template's bounds as every render's does;
    - the blinks and head motion (``blinks`` is added to the seed the render id gives);
    - the framing: the photo's head-and-shoulders crop, up to 10% closer or wider.

    In footage mode the family's clips play as planned and only the cards change; a preview
    keeps its own short cards.
    """

    motion: Motion
    intro_s: float
    outro_s: float
    blinks: int
    framing: float

    @classmethod
    def of(cls, number: int, template: Template) -> Take:
        timing = template.timing
        if number == 0:
            return cls(template.motion, timing.intro_s, timing.outro_s, blinks=0, framing=1.0)
        draws = [random.Random(take) for take in range(1, number + 1)]
        motion = template.motion
        for draw in draws:  # each take's first draw picks its move, away from the last one
            motion = draw.choice([other for other in _MOTIONS if other != motion])
        draw = draws[-1]
        intro_low, intro_high = _card_span("intro_s", timing.intro_s)
        outro_low, outro_high = _card_span("outro_s", timing.outro_s)
        cards = timing.intro_s + timing.outro_s
        intro = draw.uniform(intro_low, min(intro_high, cards - outro_low))
        outro = draw.uniform(outro_low, min(outro_high, cards - intro))
        framing = draw.uniform(1 - _FRAMING_SPREAD, 1 + _FRAMING_SPREAD)
        return cls(motion, intro, outro, blinks=draw.randrange(1, 2**31), framing=framing)

    def apply(self, template: Template) -> Template:
        """The template with this take's camera move and cards."""
        timing = template.timing.model_copy(
            update={"intro_s": self.intro_s, "outro_s": self.outro_s}
        )
        return template.model_copy(update={"motion": self.motion, "timing": timing})


def _card_span(field: str, length_s: float) -> tuple[float, float]:
    """The shortest and longest a take may make a card: within ``_CARD_SPREAD`` of the
    template's, and within what the template schema allows any template."""
    allowed = Timing.model_json_schema()["properties"][field]
    low = max(length_s * (1 - _CARD_SPREAD), allowed["minimum"])
    return low, min(length_s * (1 + _CARD_SPREAD), allowed["maximum"])


def _preview_cut(template: Template) -> Template:
    """Short cards, no minimum length: a preview shows the look, not the whole greeting."""
    timing = template.timing.model_copy(
        update={"intro_s": _PREVIEW_CARD_S, "outro_s": _PREVIEW_CARD_S, "lead_in_s": 0.2}
    )
    transitions = template.transitions.model_copy(
        update={"duration_s": min(template.transitions.duration_s, _PREVIEW_CARD_S / 2)}
    )
    duration = template.duration.model_copy(update={"min_s": 1.0})
    return template.model_copy(
        update={"timing": timing, "transitions": transitions, "duration": duration}
    )


def write_thumbnail(frame: Frame, path: Path) -> None:
    """A JPEG at most 320 px on its longer side and under 200 kB, as Telegram requires."""
    image = Image.fromarray(frame)
    image.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE), Image.Resampling.LANCZOS)
    for quality in _THUMBNAIL_QUALITIES:
        image.save(path, format="JPEG", quality=quality, optimize=True)
        if path.stat().st_size <= THUMBNAIL_MAX_BYTES:
            return
    raise RenderError(f"thumbnail stays above {THUMBNAIL_MAX_BYTES} bytes")


@contextmanager
def _atomic(final: Path) -> Iterator[Path]:
    """Yield a hidden sibling path and rename it into place only if the block succeeds."""
    partial = final.with_name(f".{final.name}.partial")
    try:
        yield partial
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
