"""Template previews: the look and sound of a festival before anyone has uploaded a photo.

A preview stars the synthetic stand-in face and the default voice, so choosing a template (and
CI checking every template, language and aspect) needs nobody's media; a still shows the look
alone, without speaking or encoding.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from engine._encoder import FPS
from engine._greeting import greeting_sentences
from engine._ingest import subject_faces
from engine._models import Aspect, ConsentReference, Language, RenderResult, RenderSpec
from engine._painter import festival_backdrop
from engine._render import render
from engine._scene import KenBurns, Look, Scene, canvas_size, label_corner, portrait_window
from engine._speech import Cue
from engine._stand_in import stand_in_portrait
from engine._templates import load_template
from engine._timeline import Timeline

PREVIEW_RECIPIENT: dict[Language, str] = {"zh-Hant": "外婆", "zh-Hans": "外婆", "en": "Grandma"}
_STILL_CUE_S = 1.0  # the still's made-up clock: card, then the first sentence showing


def preview_template(
    template_id: str, language: Language, aspect: Aspect, output_dir: Path
) -> RenderResult:
    """A short half-size render of the template's first sentence, plus its thumbnail."""
    load_template(template_id)  # an unknown id is refused before the folder is made
    output_dir.mkdir(parents=True, exist_ok=True)
    portrait = output_dir / "stand-in.jpg"
    if not portrait.exists():
        stand_in_portrait().save(portrait, quality=90)
    render_id = f"preview-{template_id}-{language}-{aspect.replace(':', 'x')}"
    return render(
        RenderSpec(
            render_id=render_id,
            template_id=template_id,
            language=language,
            portrait=portrait,
            recipient=PREVIEW_RECIPIENT[language],
            output_dir=output_dir,
            aspect=aspect,
            mode="preview",
            consent=ConsentReference.for_synthetic_media(),
        )
    )


def preview_still(
    template_id: str, language: Language, aspect: Aspect, scale: float = 0.5
) -> Image.Image:
    """One frame of the template mid-greeting, as a member choosing it would see it: the
    stand-in face in the layout's window, the first sentence as its subtitle and the AI label,
    in the member's language and aspect.

    No voice is spoken and nothing is encoded, so a still costs a fraction of
    ``preview_template``'s render (the backdrop dominates): cheap enough to make on demand for
    a picker and keep by its Telegram file id.
    """
    template = load_template(template_id)
    layout = template.layouts[aspect]
    size = canvas_size(aspect, scale)
    window = portrait_window(layout, size)
    photo = stand_in_portrait()
    face = subject_faces(photo, "stand-in", None)[0]
    camera = KenBurns(photo, (window[2], window[3]), face, template.motion, shot=layout.shot)
    sentence = greeting_sentences(template, language, PREVIEW_RECIPIENT[language], "")[0]
    timeline = Timeline(
        intro_s=_STILL_CUE_S, transition_s=_STILL_CUE_S / 2, speech_start_s=_STILL_CUE_S,
        outro_s=_STILL_CUE_S, length_s=(4 * _STILL_CUE_S, 4 * _STILL_CUE_S),
        sentences=[sentence], language=language, fps=FPS,
    )  # fmt: skip
    timeline.add(Cue(sentence, 0.0, _STILL_CUE_S), at_s=0.0)
    timeline.finish(at_s=0.0)
    backdrop = festival_backdrop(
        template.palette, template.decorations, layout, *size, label_corner(*size)
    )
    scene = Scene(backdrop, camera, window, Look.of(template, layout, language), timeline)
    return Image.fromarray(scene.frame_at(_STILL_CUE_S * 1.5))
