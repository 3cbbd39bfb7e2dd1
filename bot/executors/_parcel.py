"""A render's files as bytes, for a render that runs on another machine.

The bot decrypts a render's inputs itself; what leaves it is a spec whose paths are names
inside a parcel, and the parcel's bytes (Ray's object store carries both, so the nodes need no
shared filesystem and never see the vault key). On the node the media become in-memory files
(``bot/plaintext.py``), never files on its disk; the render writes into a folder of the node's
own and the video, its still and any new speaker profile go back the same way.
The C2PA signing identity travels too: a node that made its own would sign with a root the
bot's detection does not know.
"""

from pathlib import Path
from typing import Any

from bot.plaintext import MemoryFiles
from engine import REVEAL_SECRETS, RenderResult, RenderSpec
from engine.provenance import signing_identity

Files = dict[str, bytes]
_OUTPUT = "out"
_SIGNING = "c2pa"


class ParcelError(Exception):
    """A parcel names a file outside its folder or lacks one it names."""


def pack_spec(spec: RenderSpec) -> tuple[str, Files]:
    """The spec as JSON with its input paths made parcel names, and the parcel."""
    files: Files = {}

    def carried(path: Path, name: str) -> Path:
        files[name] = path.read_bytes()
        return Path(name)

    update: dict[str, Any] = {
        "portrait": carried(spec.portrait, "portrait") if spec.portrait else None,
        "voice_samples": tuple(carried(p, f"voice-{i}") for i, p in enumerate(spec.voice_samples)),
        "footage": tuple(carried(p, f"clip-{i}") for i, p in enumerate(spec.footage)),
        "speaker_profile": (
            carried(spec.speaker_profile, "profile") if spec.speaker_profile else None
        ),
        "output_dir": Path(_OUTPUT),
    }
    if spec.marking is not None:
        identity = signing_identity(spec.marking.signing_dir)
        files[f"{_SIGNING}/chain.pem"] = identity.chain
        files[f"{_SIGNING}/leaf.key"] = identity.private_key
        files[f"{_SIGNING}/root.pem"] = identity.trust_anchor
        update["marking"] = spec.marking.model_copy(update={"signing_dir": Path(_SIGNING)})
    parcelled = spec.model_copy(update=update)
    return parcelled.model_dump_json(context={REVEAL_SECRETS: True}), files


def unpack_spec(request: str, files: Files, folder: Path, memory: MemoryFiles) -> RenderSpec:
    """The spec with its media in ``memory`` and its signing identity and output in ``folder``."""
    media: dict[str, Path] = {}
    for name, data in files.items():
        path = _inside(folder, name)
        if name.startswith(f"{_SIGNING}/"):
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_bytes(data)
        else:
            media[name] = memory.add(data, name)
    spec = RenderSpec.model_validate_json(request)

    def held(path: Path) -> Path:
        if str(path) not in media:
            raise ParcelError(f"the parcel lacks its {path}")
        return media[str(path)]

    update: dict[str, Any] = {
        "portrait": held(spec.portrait) if spec.portrait else None,
        "voice_samples": tuple(held(p) for p in spec.voice_samples),
        "footage": tuple(held(p) for p in spec.footage),
        "speaker_profile": held(spec.speaker_profile) if spec.speaker_profile else None,
        "output_dir": _inside(folder, str(spec.output_dir)),
    }
    if spec.marking is not None:
        update["marking"] = spec.marking.model_copy(
            update={"signing_dir": _inside(folder, str(spec.marking.signing_dir))}
        )
    return spec.model_copy(update=update)


def pack_result(result: RenderResult) -> dict[str, Any]:
    """The result as JSON and the bytes of every file it names."""
    files = {"video": result.video.read_bytes(), "thumbnail": result.thumbnail.read_bytes()}
    if result.speaker_profile is not None:
        files["profile"] = result.speaker_profile.read_bytes()
    return {"result": result.model_dump_json(), "files": files}


def unpack_result(reply: dict[str, Any], output_dir: Path) -> RenderResult:
    """Write a packed result's files into ``output_dir`` under their own names."""
    result = RenderResult.model_validate_json(reply["result"])
    files: Files = reply["files"]
    output_dir.mkdir(parents=True, exist_ok=True)

    def written(key: str, path: Path) -> Path:
        if key not in files:
            raise ParcelError(f"the reply lacks its {key}")
        local = _inside(output_dir, path.name)
        local.write_bytes(files[key])
        return local

    profile = result.speaker_profile
    return result.model_copy(
        update={
            "video": written("video", result.video),
            "thumbnail": written("thumbnail", result.thumbnail),
            "speaker_profile": written("profile", profile) if profile else None,
        }
    )


def _inside(folder: Path, name: str) -> Path:
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()) or path == folder.resolve():
        raise ParcelError(f"{name!r} is not a file inside the parcel")
    return path
