"""The ``tuanyuan`` command as an operator uses it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from bot.cli import main
from bot.demo.samples import sample_portrait_jpeg
from bot.vault import load_or_create_key
from engine._scene import _label_layer


@pytest.fixture(autouse=True)
def _no_operator_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys a command makes go to the test's own data dir, never ./var."""
    for name in (
        "TUANYUAN_WATERMARK_KEY",
        "TUANYUAN_WATERMARK_KEY_FILE",
        "TUANYUAN_VAULT_KEY",
        "TUANYUAN_VAULT_KEY_FILE",
        "TUANYUAN_C2PA_CERT_CHAIN",
        "TUANYUAN_C2PA_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUANYUAN_DATA_DIR", str(tmp_path / "default-data"))


def _render_command(tmp_path: Path, *options: str) -> list[str]:
    """``tuanyuan render`` of the sample portrait for Grandma, writing under ``tmp_path``
    (the video in out/, the keys in data/)."""
    portrait = tmp_path / "face.jpg"
    portrait.write_bytes(sample_portrait_jpeg())
    return ["render", "--portrait", str(portrait), "--recipient", "Grandma",
            "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "data"),
            "--synthetic-media", *options]  # fmt: skip


def test_render_writes_a_marked_video_that_detect_recognises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert main(_render_command(tmp_path, "--language", "en")) == 0
    printed = capsys.readouterr()
    result = json.loads(printed.out)
    with av.open(result["video"]) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert len(container.streams.audio) == 1
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    # GB 45438's visible label, measured in the delivered picture: "AI" of "AI-generated" from
    # its top to its baseline at least 5% of the shorter side.
    assert first.shape == (720, 1280, 3)
    label = _label_layer("en", 1.0)
    height, width = label.alpha.shape[:2]
    ink = first[label.y : label.y + height, label.x : label.x + width].min(axis=2) > 128
    columns = np.flatnonzero(ink.any(axis=0))
    letter_ends = np.flatnonzero(np.diff(columns) > 1)  # where "A" ends, then "I"
    rows = np.flatnonzero(ink[:, columns[0] : columns[letter_ends[1]] + 1].any(axis=1))
    assert rows[-1] - rows[0] + 1 >= 0.05 * 720
    assert "Grandma" in result["greeting_text"]
    assert f"--data-dir {data}" in printed.err
    # The bot's keys were made in the data dir, and the greeting carries every mark.
    assert (data / "vault.key").stat().st_mode & 0o777 == 0o600
    assert main(["detect", result["video"], "--data-dir", str(data)]) == 0
    report = capsys.readouterr().out
    assert "made by this service: yes" in report
    assert report.count("MAC valid") == 2 and "c2pa: trusted" in report
    assert "'ProduceID': 'cli'" in report
    # Another installation's keys find no mark of theirs in it.
    load_or_create_key(tmp_path / "other" / "vault.key")
    assert main(["detect", result["video"], "--data-dir", str(tmp_path / "other")]) == 0
    assert "made by this service: no" in capsys.readouterr().out


def test_render_makes_an_upright_greeting_in_the_senders_own_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _render_command(tmp_path, "--language", "zh-Hans", "--aspect", "9:16",
                              "--message", "外婆，我好想你。")  # fmt: skip
    assert main(command) == 0
    result = json.loads(capsys.readouterr().out)
    assert "外婆，我好想你。" in result["greeting_text"]  # the sender's own words, as in the bot
    with av.open(result["video"]) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (720, 1280)
        assert container.duration is not None and container.duration > 5 * av.time_base
        assert len(container.streams.audio) == 1


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


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--recipient", "G" * 65, "--recipient: String should have at most 64 characters"),
        ("--render-id", "../grandma", "--render-id: String should match pattern"),
        ("--message", "x" * 601, "--message: String should have at most 600 characters"),
    ],
)
def test_render_names_the_option_a_bad_value_was_given_to(
    option: str, value: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each once ended in a pydantic traceback."""
    assert main([*_render_command(tmp_path), option, value]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"tuanyuan render: {said}") and "Traceback" not in error
    assert not (tmp_path / "out").exists()


def test_detect_names_a_missing_file_before_asking_for_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to ask for the watermark key first, then call the file unreadable."""
    missing = tmp_path / "greeting.mp4"
    assert main(["detect", str(missing), "--data-dir", str(tmp_path / "nothing-here")]) == 2
    assert capsys.readouterr().err == f"tuanyuan detect: {missing}: no such file\n"


def test_a_misspelt_template_is_answered_with_the_templates_there_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    for command in (["templates", "preview", "xmas", "--out", str(out)],
                    _render_command(tmp_path, "--template", "xmas")):  # fmt: skip
        assert main(command) == 1
        error = capsys.readouterr().err
        assert "unknown template 'xmas'" in error and "christmas, " in error, error
        assert not out.exists()


def test_a_command_prints_what_it_was_asked_and_no_library_warnings() -> None:
    """In a fresh process, as an operator types it: the first import of each library happens
    there, and with it any warning the library prints about itself."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONWARNINGS"}
    listed = subprocess.run(
        [sys.executable, "-m", "bot.cli", "templates", "list"],
        capture_output=True, text=True, check=True, env=environment, timeout=120,
    )  # fmt: skip
    assert "mid-autumn" in listed.stdout.split()
    assert listed.stderr == ""


def test_run_without_a_token_exits_with_advice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TUANYUAN_BOT_TOKEN", raising=False)
    monkeypatch.delenv("TUANYUAN_BOT_TOKEN_FILE", raising=False)
    assert main(["run"]) == 2
    assert "TUANYUAN_BOT_TOKEN" in capsys.readouterr().err


def test_a_webhook_must_be_https(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TUANYUAN_BOT_TOKEN", "1:x")
    assert main(["run", "--webhook", "http://bot.example.org/hook"]) == 2
    assert "https://" in capsys.readouterr().err


def test_demo_plays_the_family_in_english_and_its_greeting_is_recognised_by_the_operators_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One demo run (a minute of the suite's time) for both things an operator checks: the story
    told in the language asked for, each message where it was sent, and the greeting it made
    recognised later with the keys the demo kept. ``make demo`` plays the default, Chinese."""
    key = "5a" * 32
    monkeypatch.setenv("TUANYUAN_WATERMARK_KEY", key)
    out = tmp_path / "demo-out"
    assert main(["demo", "--out", str(out), "--language", "en"]) == 0
    printed = capsys.readouterr().out
    entries = json.loads((out / "transcript.json").read_text(encoding="utf-8"))
    said = [entry.get("text") or entry.get("caption") or "" for entry in entries]
    assert not [text for text in said if any("\u4e00" <= char <= "\u9fff" for char in text)]
    assert any("Happy Mid-Autumn Festival, Grandma!" in text for text in said)
    assert said[-2] == "Your greeting for Grandma is ready. This video was made with AI."
    # The order's status line, edited since it was first shown, ends the story.
    assert entries[-1]["method"] == "edit"
    assert said[-1] == ("Greeting for Grandma (Mid-Autumn Festival)\n"
                        "Delivered. You can forward it to Grandma.")  # fmt: skip
    # The grandfather's consent reached her chat while he spoke, before she typed her relation.
    assert said.index("Grandpa has consented.\n\nHow are you related to Grandpa? Type it, for "
                      "example: granddaughter.") < said.index("granddaughter")  # fmt: skip
    with av.open(str(out / "greeting.mp4")) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 1280, 720)
        assert audio.codec_context.name == "aac"
        assert container.duration is not None and container.duration / 1e6 > 10

    data = out / "bot-data"
    assert f"tuanyuan detect {out / 'greeting.mp4'} --data-dir {data}" in printed
    assert main(["detect", str(out / "greeting.mp4"), "--data-dir", str(data)]) == 0
    report = capsys.readouterr().out
    assert "made by this service: yes" in report
    assert report.count("MAC valid") == 2 and "c2pa: trusted" in report
    assert "family: space" in report and "consent: current" in report
    # The watermarks were made with the operator's key, not one derived from the demo's vault.
    monkeypatch.delenv("TUANYUAN_WATERMARK_KEY")
    assert main(["detect", str(out / "greeting.mp4"), "--data-dir", str(data)]) == 0
    assert "MAC valid" not in capsys.readouterr().out


def test_worker_refuses_an_address_that_is_not_host_and_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["worker", "--address", "ray://head:10001"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "load", "--duration", "1", "--reliability"],
        ["bench", "faults", "--runs", "1", "--reliability"],
        ["bench", "reliability", "--out"],
        ["bench", "fuzz", "--out"],
    ],
)
def test_a_benchmark_refuses_a_report_it_could_not_write_before_it_runs(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 30-minute load run once ended in a traceback: the report's folder did not exist."""
    with pytest.raises(SystemExit) as exited:
        main([*argv, str(tmp_path / "missing" / "RELIABILITY.md")])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'missing'} is not a folder: create it" in error
    assert "Traceback" not in error
