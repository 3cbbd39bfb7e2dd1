"""Templates cut short for tests that render many greetings."""

from __future__ import annotations

import json
from pathlib import Path

from engine._templates import templates_dir


def tiny_template(folder: Path, template_id: str) -> None:
    """The Mid-Autumn template cut to one sentence between half-second cards, saved as
    ``template_id`` under ``folder`` (for ``TUANYUAN_TEMPLATES_DIR``): a render of seconds."""
    data = json.loads((templates_dir() / "mid-autumn" / "template.json").read_text("utf-8"))
    data |= {
        "id": template_id,
        "duration": {"min_s": 1, "max_s": 10},
        "timing": {"intro_s": 0.5, "outro_s": 0.5, "lead_in_s": 0.0},
        "transitions": {"intro": "crossfade", "outro": "crossfade", "duration_s": 0.1},
        "greetings": {"zh-Hant": ["{recipient}！"], "zh-Hans": ["{recipient}！"],
                      "en": ["{recipient}!"]},
        "decorations": data["decorations"][:1],
    }  # fmt: skip
    target = folder / template_id / "template.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
