"""Templates are validated data; mistakes name the file and the field at fault."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine import RenderError, list_templates
from engine._render import greeting_sentences
from engine._templates import load_template, templates_dir


def test_mid_autumn_is_listed() -> None:
    assert "mid-autumn" in list_templates()


def test_unknown_template_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="no-such-festival"):
        load_template("no-such-festival")


def _broken_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, object]
) -> Path:
    target = tmp_path / "mid-autumn" / "template.json"
    target.parent.mkdir(parents=True)
    shutil.copy(templates_dir() / "mid-autumn" / "template.json", target)
    data = json.loads(target.read_text(encoding="utf-8"))
    for dotted, value in change.items():
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[leaf] = value
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("TUANYUAN_TEMPLATES_DIR", str(tmp_path))
    return target


def test_wrong_type_names_file_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _broken_copy(tmp_path, monkeypatch, {"music.tempo_bpm": "fast"})
    with pytest.raises(RenderError) as caught:
        load_template("mid-autumn")
    assert str(path) in str(caught.value)
    assert "music.tempo_bpm" in str(caught.value)


def test_unknown_placeholder_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_copy(tmp_path, monkeypatch, {"greetings.en": ["Hello {subject}!"]})
    with pytest.raises(RenderError, match=r"greetings.*subject"):
        load_template("mid-autumn")


def test_misspelt_key_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_copy(tmp_path, monkeypatch, {"palette.moon_colour": "#ffffff"})
    with pytest.raises(RenderError, match=r"palette\.moon_colour"):
        load_template("mid-autumn")


def test_bad_colour_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_copy(tmp_path, monkeypatch, {"palette.moon": "yellow"})
    with pytest.raises(RenderError, match=r"palette\.moon"):
        load_template("mid-autumn")


def test_broken_json_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _broken_copy(tmp_path, monkeypatch, {})
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(RenderError, match="not valid JSON") as caught:
        load_template("mid-autumn")
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans", "en"])
def test_greeting_reads_without_a_sender(language: str) -> None:
    template = load_template("mid-autumn")
    with_sender = greeting_sentences(template, language, "Ah Ma", "Wei")  # type: ignore[arg-type]
    without = greeting_sentences(template, language, "Ah Ma", "  ")  # type: ignore[arg-type]
    assert any("Wei" in s for s in with_sender)
    assert 0 < len(without) < len(with_sender)
    assert all("{" not in s for s in without + with_sender)
