"""Templates are validated data; mistakes name the file and the field at fault."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine import RenderError, list_templates
from engine._greeting import greeting_sentences
from engine._music import render_music
from engine._painter import festival_backdrop, paint_background
from engine._templates import load_template, templates_dir

FESTIVALS = {
    "spring-festival", "lantern-festival", "dragon-boat", "qixi", "mid-autumn", "double-ninth",
    "winter-solstice", "christmas", "new-year", "birthday", "mothers-day", "fathers-day",
}  # fmt: skip


def test_twelve_festivals_are_listed_and_valid() -> None:
    assert set(list_templates()) >= FESTIVALS
    for template_id in list_templates():
        template = load_template(template_id)
        for language in ("zh-Hant", "zh-Hans", "en"):
            assert template.names.pick(language) and template.intro_title.pick(language)
            assert greeting_sentences(template, language, "R", "S", "P")


def test_each_festival_looks_its_own() -> None:
    backgrounds = {
        template_id: paint_background(t.palette, t.decorations, 160, 90).astype(np.float32)
        for template_id in list_templates()
        for t in [load_template(template_id)]
    }
    for (first, a), (second, b) in itertools.combinations(backgrounds.items(), 2):
        assert np.mean(np.abs(a - b)) > 12, f"{first} and {second} look alike"


def test_each_festival_sounds_its_own() -> None:
    def spectrum(template_id: str) -> np.ndarray:
        music = render_music(load_template(template_id).music, 8.0, 16_000)
        bands = np.abs(np.fft.rfft(music))[: 4000 * 8].reshape(400, -1).sum(axis=1)
        return np.asarray(bands / np.linalg.norm(bands))

    spectra = {template_id: spectrum(template_id) for template_id in list_templates()}
    for (first, a), (second, b) in itertools.combinations(spectra.items(), 2):
        assert float(np.dot(a, b)) < 0.9, f"{first} and {second} sound alike"


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
    _broken_copy(tmp_path, monkeypatch, {"greetings.en": ["Hello {nickname}!"]})
    with pytest.raises(RenderError, match=r"greetings.*nickname"):
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


def test_missing_aspect_layout_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = {"x": 0.1, "y": 0.1, "w": 0.5, "h": 0.5}
    layout = {"subject": box, "subtitles": box, "title": box}
    _broken_copy(tmp_path, monkeypatch, {"layouts": {"16:9": layout, "1:1": layout}})
    with pytest.raises(RenderError, match=r"layouts: .*9:16"):
        load_template("mid-autumn")


def test_box_outside_the_frame_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = {"x": 0.6, "y": 0.1, "w": 0.5, "h": 0.5}
    layout = {"subject": box, "subtitles": box, "title": box}
    layouts = {"16:9": layout, "9:16": layout, "1:1": layout}
    _broken_copy(tmp_path, monkeypatch, {"layouts": layouts})
    with pytest.raises(RenderError, match=r"layouts\.16:9\.subject: .*outside the frame"):
        load_template("mid-autumn")


def test_unknown_motif_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _broken_copy(tmp_path, monkeypatch, {})
    data = json.loads(path.read_text(encoding="utf-8"))
    data["decorations"][1]["motif"] = "unicorn"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RenderError, match=r"decorations\.1\.motif"):
        load_template("mid-autumn")


def test_sentences_naming_the_subject_need_one() -> None:
    template = load_template("mid-autumn").model_copy(deep=True)
    greetings = template.greetings.model_copy(
        update={"en": ("Hi {recipient}.", "{subject} says hi.")}
    )
    template = template.model_copy(update={"greetings": greetings})
    assert greeting_sentences(template, "en", "Ma", "", "Grandpa") == ["Hi Ma.", "Grandpa says hi."]
    assert greeting_sentences(template, "en", "Ma", "", "") == ["Hi Ma."]


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans", "en"])
def test_greeting_reads_without_a_sender(language: str) -> None:
    template = load_template("mid-autumn")
    with_sender = greeting_sentences(template, language, "Ah Ma", "Wei")  # type: ignore[arg-type]
    without = greeting_sentences(template, language, "Ah Ma", "  ")  # type: ignore[arg-type]
    assert any("Wei" in s for s in with_sender)
    assert 0 < len(without) < len(with_sender)
    assert all("{" not in s for s in without + with_sender)


def test_a_backdrop_is_painted_once_per_template_and_size_and_cannot_be_changed() -> None:
    template = load_template("qixi")
    backdrop = festival_backdrop(template.palette, template.decorations, 160, 90)
    assert festival_backdrop(template.palette, template.decorations, 160, 90) is backdrop
    assert np.array_equal(
        backdrop, paint_background(template.palette, template.decorations, 160, 90)
    )
    with pytest.raises(ValueError, match="read-only"):
        backdrop[0, 0] = 0
