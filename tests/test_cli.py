"""The ``tuanyuan`` command as an operator uses it."""

import json
from pathlib import Path

import av
import pytest

from bot.cli import main
from bot.demo.samples import sample_portrait_jpeg


def test_render_writes_the_video_and_prints_its_description(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    portrait = tmp_path / "face.jpg"
    portrait.write_bytes(sample_portrait_jpeg())
    code = main(
        ["render", "--portrait", str(portrait), "--recipient", "Grandma", "--language", "en",
         "--out", str(tmp_path / "out"), "--synthetic-media"]
    )  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    with av.open(result["video"]) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert len(container.streams.audio) == 1
    assert "Grandma" in result["greeting_text"]


def test_render_reports_a_bad_portrait_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_photo = tmp_path / "face.jpg"
    not_a_photo.write_text("hello", encoding="utf-8")
    code = main(
        ["render", "--portrait", str(not_a_photo), "--recipient", "Grandma", "--synthetic-media"]
    )
    assert code == 1
    assert "tuanyuan render:" in capsys.readouterr().err


def test_run_without_a_token_exits_with_advice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TUANYUAN_BOT_TOKEN", raising=False)
    monkeypatch.delenv("TUANYUAN_BOT_TOKEN_FILE", raising=False)
    assert main(["run"]) == 2
    assert "TUANYUAN_BOT_TOKEN" in capsys.readouterr().err
