"""Template previews: the look and sound of a festival before anyone has uploaded a photo.

A preview stars the synthetic stand-in face and the default voice, so choosing a template (and
CI checking every template, language and aspect) needs nobody's media.
"""

from __future__ import annotations

from pathlib import Path

from engine._models import Aspect, ConsentReference, Language, RenderResult, RenderSpec
from engine._render import render
from engine._stand_in import stand_in_portrait

PREVIEW_RECIPIENT: dict[Language, str] = {"zh-Hant": "外婆", "zh-Hans": "外婆", "en": "Grandma"}


def preview_template(
    template_id: str, language: Language, aspect: Aspect, output_dir: Path
) -> RenderResult:
    """A short half-size render of the template's first sentence, plus its thumbnail."""
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
