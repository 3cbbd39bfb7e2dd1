"""`tuanyuan detect`: the report a person or a script gets for a file."""

import json
import random
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from bot.cli import main
from bot.hostile import titled
from engine import IngestError
from engine.provenance import detect, sign_mp4, signing_identity
from engine.provenance.bench import attack
from tests.auxil.provenance import KEY, marked_greeting, unmarked_greeting
from tests.auxil.sandbox_media import png


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """A signed greeting as delivered, with its data dir holding the local C2PA chain."""
    data_dir = tmp_path_factory.mktemp("data")
    source, payload = marked_greeting(data_dir, seed=11, seconds=6.0)
    destination = data_dir / "delivered.mp4"
    sign_mp4(source, destination, signing_identity(data_dir / "c2pa", {}), render_id="render-11",
             template_id="mid-autumn", consent_sha256="00" * 32)  # fmt: skip
    return destination, data_dir, payload.token


def test_json_report_has_every_field_the_issue_lists(
    delivered: tuple[Path, Path, int], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path, data_dir, token = delivered
    monkeypatch.setenv("TUANYUAN_WATERMARK_KEY", KEY.hex())
    monkeypatch.setenv("TUANYUAN_DATA_DIR", str(data_dir))
    assert main(["detect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["video"]["mac_valid"] and report["audio"]["mac_valid"]
    assert report["video"]["payload"] == report["audio"]["payload"]
    assert int(report["video"]["payload"][:10], 16) == token
    assert report["video"]["confidence"] > 0.5 and report["audio"]["confidence"] > 0.5
    assert report["c2pa"]["state"] == "trusted"
    assert report["aigc"]["ProduceID"] == "render-11"
    assert report["render"] is None  # the bot fills it from its database
    assert report["made_by_service"] is True


def test_recompressed_copy_still_says_ours(
    delivered: tuple[Path, Path, int], tmp_path: Path
) -> None:
    """A messenger re-encode strips C2PA but the video mark still identifies the render."""
    path, _, token = delivered
    report = detect(attack(path, tmp_path / "sent.mp4", "480p+crf28"), KEY)
    assert report.made_by_service
    assert report.video.token == token and report.video.mac_valid
    assert report.c2pa.state == "absent" and report.aigc is None


def test_a_copy_an_app_titled_in_gbk_still_says_ours(delivered: tuple[Path, Path, int]) -> None:
    """A phone's gallery retitles what it saves, in its own encoding: /verify must still read it."""
    path, _, token = delivered
    report = detect(titled(path, "中秋祝福".encode("gbk")), KEY)
    assert report.made_by_service and report.video.token == token
    assert report.audio.mac_valid and report.aigc is not None


def test_foreign_video_is_not_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = unmarked_greeting(tmp_path, 30, seconds=3.0)
    monkeypatch.setenv("TUANYUAN_WATERMARK_KEY", KEY.hex())
    monkeypatch.setenv("TUANYUAN_DATA_DIR", str(tmp_path))
    assert main(["detect", str(plain)]) == 0
    out = capsys.readouterr().out
    assert "made by this service: no" in out
    assert "c2pa: absent" in out


def test_detect_without_a_key_says_how_to_set_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TUANYUAN_WATERMARK_KEY", raising=False)
    monkeypatch.delenv("TUANYUAN_WATERMARK_KEY_FILE", raising=False)
    video = tmp_path / "x.mp4"
    video.write_bytes(b"")  # there: a missing file is named before the key is asked for
    assert main(["detect", str(video)]) == 2
    assert "TUANYUAN_WATERMARK_KEY" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"%PDF-1.4\n%%EOF\n", "not_a_video"),
        (png(), "not_a_video"),
        (b"", "empty_file"),
        # Noise that a demuxer outside the uploads' containers reads, its tags not UTF-8: it
        # crashed the detector (/verify answered "could not finish checking", now and then).
        (random.Random(2700).randbytes(4096), "not_a_video"),
    ],
)
def test_a_file_that_is_no_video_is_refused_not_judged(
    tmp_path: Path, content: bytes, code: str
) -> None:
    """FFmpeg reads a PNG as a one-frame video: "not ours" would answer the wrong question."""
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    with pytest.raises(IngestError) as refused:
        detect(path, KEY)
    assert refused.value.code == code


def test_the_cli_says_when_a_file_is_no_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    monkeypatch.setenv("TUANYUAN_WATERMARK_KEY", KEY.hex())
    assert main(["detect", str(path), "--data-dir", str(tmp_path)]) == 1
    assert "not a readable video" in capsys.readouterr().err


def test_a_container_that_cannot_hold_our_manifest_has_none(
    delivered: tuple[Path, Path, int], tmp_path: Path
) -> None:
    """Remuxed into Matroska, the manifest is gone, not "invalid" as an MP4 reader would say."""
    path, _, token = delivered
    mkv = tmp_path / "remuxed.mkv"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-c", "copy"]
    subprocess.run([*command, str(mkv)], check=True)
    report = detect(mkv, KEY)
    assert report.c2pa.state == "absent"
    assert report.video.mac_valid and report.video.token == token
