"""The executor's parts that need no cluster: a render's files as a parcel of bytes and back,
and the ``ray start`` line a render node joins with."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from bot.executors import RENDER_RESOURCE, EmbeddedExecutor, executor_for, worker_command
from bot.executors._parcel import ParcelError, pack_result, pack_spec, unpack_result, unpack_spec
from bot.plaintext import FOLDER_PREFIX, MemoryFiles, sweep_dead_folders
from engine import ConsentReference, Marking, RenderResult, RenderSpec


def _spec(inputs: Path) -> RenderSpec:
    inputs.mkdir()
    for name in ("portrait.jpg", "note-a.ogg", "note-b.ogg", "profile.bin"):
        (inputs / name).write_bytes(name.encode() * 100)
    return RenderSpec(
        render_id="order-1",
        template_id="mid-autumn",
        language="en",
        portrait=inputs / "portrait.jpg",
        voice_samples=(inputs / "note-a.ogg", inputs / "note-b.ogg"),
        speaker_profile=inputs / "profile.bin",
        recipient="Grandma",
        output_dir=inputs / "out",
        consent=ConsentReference.for_synthetic_media(),
        marking=Marking(token=7, watermark_key=b"k" * 32, signing_dir=inputs / "c2pa"),
    )


def test_a_spec_travels_as_names_and_bytes_and_lands_in_the_nodes_folder(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "bot")
    request, files = pack_spec(spec)
    assert str(tmp_path) not in request  # no path of the bot's machine travels
    assert set(files) == {
        "portrait", "voice-0", "voice-1", "profile",
        "c2pa/chain.pem", "c2pa/leaf.key", "c2pa/root.pem",
    }  # fmt: skip
    # The bot's own signing identity travels, so the node signs with the root detection trusts.
    assert files["c2pa/root.pem"] == (tmp_path / "bot" / "c2pa" / "root.pem").read_bytes()

    node = tmp_path / "node"
    with MemoryFiles() as memory:
        landed = unpack_spec(request, files, node, memory)
        # The media are in the node's memory, never files in its folder; the output goes there.
        assert landed.portrait is not None and spec.portrait is not None
        assert landed.portrait.read_bytes() == spec.portrait.read_bytes()
        assert [p.read_bytes() for p in landed.voice_samples] == [
            p.read_bytes() for p in spec.voice_samples
        ]
        assert landed.speaker_profile is not None and spec.speaker_profile is not None
        assert landed.speaker_profile.read_bytes() == spec.speaker_profile.read_bytes()
    assert sorted(p.relative_to(node).as_posix() for p in node.rglob("*") if p.is_file()) == [
        "c2pa/chain.pem", "c2pa/leaf.key", "c2pa/root.pem",
    ]  # fmt: skip
    assert landed.output_dir == (node / "out").resolve()
    assert landed.marking is not None and spec.marking is not None
    assert landed.marking.watermark_key == spec.marking.watermark_key
    assert landed.marking.signing_dir == (node / "c2pa").resolve()
    assert landed.model_dump(exclude={"portrait", "voice_samples", "speaker_profile",
                                      "output_dir", "marking"}) == spec.model_dump(
        exclude={"portrait", "voice_samples", "speaker_profile", "output_dir", "marking"}
    )  # fmt: skip


@pytest.mark.parametrize("name", ["../escaped", "/etc/passwd", "."])
def test_a_parcel_cannot_write_outside_its_folder(tmp_path: Path, name: str) -> None:
    request, _ = pack_spec(_spec(tmp_path / "bot"))
    with pytest.raises(ParcelError, match="not a file inside the parcel"):
        unpack_spec(request, {name: b"x"}, tmp_path / "node", MemoryFiles())
    assert not (tmp_path / "escaped").exists()


def test_a_result_comes_back_with_its_files_in_the_bots_output_folder(tmp_path: Path) -> None:
    made = tmp_path / "node" / "out"
    made.mkdir(parents=True)
    (made / "order-1.mp4").write_bytes(b"video")
    (made / "order-1.jpg").write_bytes(b"still")
    result = RenderResult(
        video=made / "order-1.mp4", thumbnail=made / "order-1.jpg", duration_s=12.0,
        width=1280, height=720, size_bytes=5, greeting_text="Happy Mid-Autumn",
        likeness="portrait", voice="default", voice_reason="no weights",
    )  # fmt: skip
    reply = pack_result(result)
    assert "profile" not in reply["files"]
    back = unpack_result(reply, tmp_path / "bot" / "out")
    assert back.video.read_bytes() == b"video" and back.video.parent == tmp_path / "bot" / "out"
    assert back.thumbnail.read_bytes() == b"still" and back.speaker_profile is None
    assert back.model_dump(exclude={"video", "thumbnail"}) == result.model_dump(
        exclude={"video", "thumbnail"}
    )
    with pytest.raises(ParcelError, match="lacks its video"):
        unpack_result({"result": reply["result"], "files": {}}, tmp_path / "again")


def test_a_render_node_joins_offering_its_render_actors() -> None:
    command = worker_command("10.0.0.5:6379", 4, ["--num-gpus=4"])
    assert command[1:3] == ["start", "--address=10.0.0.5:6379"]
    offered = next(arg for arg in command if arg.startswith("--resources="))
    assert json.loads(offered.removeprefix("--resources=")) == {RENDER_RESOURCE: 4}
    assert {"--block", "--disable-usage-stats", "--num-gpus=4"} <= set(command)


def test_a_ray_address_without_ray_installed_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    monkeypatch.setitem(sys.modules, "bot.executors._ray", None)
    settings = Settings(token="1:x", data_dir=tmp_path, ray_address="auto")
    with pytest.raises(ConfigError, match=r"pip install 'tuanyuan\[ray\]'"):
        executor_for(settings)
    assert isinstance(executor_for(replace(settings, ray_address=None)), EmbeddedExecutor)


def test_a_killed_actors_job_folder_is_swept_by_the_next_actor_on_its_node(tmp_path: Path) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    dead = tmp_path / f"{FOLDER_PREFIX}{ended.pid}-abc"
    live = tmp_path / f"{FOLDER_PREFIX}{os.getpid()}-def"
    for folder in (dead, live):
        (folder / "in").mkdir(parents=True)
        (folder / "in" / "portrait").write_bytes(b"a face")
    sweep_dead_folders(tmp_path)
    assert not dead.exists() and live.exists()
