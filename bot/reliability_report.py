"""RELIABILITY.md is written by more than one benchmark: ``tuanyuan bench reliability`` writes
its head (the hostile corpus) and each other benchmark one ``## `` section of its own, so that
regenerating any part keeps the others."""

from __future__ import annotations

import re
from pathlib import Path

_SECTION = re.compile(r"^## (.+)$", re.MULTILINE)


def sections(path: Path) -> str:
    """Every ``## `` section of the file as written, for the head's writer to keep."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    first = _SECTION.search(text)
    return "" if first is None else "\n" + text[first.start() :].rstrip("\n") + "\n"


def write_section(path: Path, heading: str, body: str) -> None:
    """Replace the section named ``heading`` (or add it at the end), leaving the rest as it is."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Reliability\n"
    starts = list(_SECTION.finditer(text))
    head = text if not starts else text[: starts[0].start()]
    parts: list[tuple[str, str]] = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        parts.append((match.group(1).strip(), text[match.start() : end].strip("\n")))
    own = f"## {heading}\n\n{body.strip()}"
    if any(name == heading for name, _ in parts):
        parts = [(name, own if name == heading else section) for name, section in parts]
    else:
        parts.append((heading, own))
    path.write_text(
        head.rstrip("\n") + "\n\n" + "\n\n".join(section for _, section in parts) + "\n",
        encoding="utf-8",
    )
