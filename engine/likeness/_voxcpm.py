"""Voice cloning with OpenBMB's VoxCPM2, from weights an operator installed; nothing is downloaded.

VoxCPM2's code and weights are Apache-2.0 (commercial use allowed, unlike XTTS-v2's), and it
speaks Mandarin, Cantonese and English. The folder holds the release's files: ``config.json``
(architecture ``voxcpm2``), ``model.safetensors``, ``audiovae.pth`` or ``audiovae.safetensors``
and the tokenizer (``tokenizer.json``). The ``voxcpm`` package (the ``voxcpm`` extra) is
imported on first load only, so the engine runs without it.

Decisions, and why:

- The model is built with ``VoxCPM2Model.from_local`` on the folder itself, never through
  ``VoxCPM.from_pretrained``: that one resolves names on the Hugging Face hub and loads a
  ModelScope denoiser by name. The hubs are set offline before the import as well, so any path
  that would still reach for them fails at once instead of waiting on the network.
- ``from_local`` loads the checkpoint with ``strict=False``; a checkpoint that lacks weights
  would leave them random and speak noise, so the keys are checked against the model here.
- Enrolment is VoxCPM2's "reference" cloning: the subject's samples, joined, encoded once by
  its audio VAE. Those latents are what is sealed in the profile, with the VAE's fingerprint,
  so latents from one VAE are never fed to another. Reference mode needs no transcript of the
  samples (continuation cloning would, and voice notes have none).
- One sentence is generated whole at a time and yielded at once, as a render composes whole
  sentences; each has a budget of patches for a slow reader, so a model that does not predict
  its stop cannot run for minutes (VoxCPM's own cap is about a second per character).
- Cantonese and Mandarin are both read from Chinese characters: VoxCPM2 takes no language tag,
  it follows the text's wording and the reference voice. Whether the real weights speak a
  template's Cantonese as Cantonese cannot be checked here without them.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from engine._memory import memory_file
from engine._models import SpokenLanguage
from engine.likeness._profile import ProfileFormatError, SpeakerProfile
from engine.likeness._streaming import SpeechChunk, level_gain
from engine.likeness._voice import Clip, StreamingVoice, pause_after
from engine.likeness._xtts import VoiceUnavailable

EXTENSION = "voxcpm"  # the key of the subject's reference latents in SpeakerProfile.extensions
LICENCE = "Apache-2.0"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")
VAE_FILES = ("audiovae.safetensors", "audiovae.pth")  # either; from_local prefers the first
# Enough of the subject's speech for the timbre; every second more lengthens the prefix each
# sentence is generated after.
MAX_REFERENCE_S = 30.0
INFERENCE_STEPS = 10  # VoxCPM's default diffusion steps per patch
CFG_VALUE = 2.0  # VoxCPM's default guidance
# A sentence may take a slow reader's time for its characters, twice over, plus a breath.
_BUDGET_BASE_S = 1.5
_BUDGET_S_PER_CHAR = 0.5  # Chinese characters; Latin letters count a third of it
_FORMAT = "tuanyuan-voxcpm-reference"
_VERSION = 1
_HASH_CHUNK = 8 << 20


@dataclass(frozen=True)
class _Reference:
    model: str  # the audio VAE's fingerprint
    features: npt.NDArray[np.float32]  # (patches, patch size, latent dim)


class VoxcpmVoice(StreamingVoice):
    """VoxCPM2 speaking in the subject's voice, cloned from their accepted samples.

    ``enrol`` encodes the samples once; ``stream`` yields the greeting a sentence at a time
    (48 kHz, one cue per sentence). With no profile it speaks in a voice of its own choosing
    (VoxCPM2's zero-shot speech), so it needs no stock voices file.
    """

    name = EXTENSION

    def __init__(self, model: Any, fingerprint: str, device: str) -> None:
        self._model = model
        self.fingerprint = fingerprint
        self.device = device

    @classmethod
    def load(cls, folder: Path) -> VoxcpmVoice:
        """Load the weights in ``folder``; raises VoiceUnavailable saying what is wrong."""
        return load_voxcpm(folder)

    @property
    def rate(self) -> int:
        return int(self._model.sample_rate)

    @property
    def patch_s(self) -> float:
        """Seconds of speech per generated patch (0.16 s for the release)."""
        return int(self._model.patch_size) * int(self._model.chunk_size) / self._encode_rate

    @property
    def _encode_rate(self) -> int:
        return int(self._model.audio_vae.sample_rate)

    def enrol(self, clips: Sequence[Clip]) -> bytes:
        """The samples joined (at most ``MAX_REFERENCE_S``), encoded by the audio VAE once."""
        if not clips:
            raise ValueError("VoxCPM enrolment needs at least one voice sample")
        from scipy.io import wavfile

        target = self._encode_rate
        joined = np.concatenate([_resampled(samples, rate, target) for samples, rate in clips])
        joined = joined[: int(MAX_REFERENCE_S * target)]
        # VoxCPM reads its reference from a path: an anonymous in-memory file gives it one
        # without the subject's voice ever lying on disk in plaintext.
        memory, path = memory_file("voxcpm-reference")
        try:
            with path.open("r+b") as reference:
                wavfile.write(reference, target, joined)  # float32 samples: a float WAV
            cache = self._model.build_prompt_cache(reference_wav_path=str(path))
        finally:
            os.close(memory)
        features = np.ascontiguousarray(cache["ref_audio_feat"].float().numpy(), np.float32)
        return _encode(_Reference(self.fingerprint, features))

    def is_enrolled(self, profile: SpeakerProfile) -> bool:
        """Whether the profile holds latents this very audio VAE computed."""
        blob = profile.extensions.get(self.name)
        if blob is None:
            return False
        try:
            return decode_reference(blob).model == self.fingerprint
        except ProfileFormatError:
            return False

    def stream(
        self, sentences: Sequence[str], language: SpokenLanguage, profile: SpeakerProfile | None
    ) -> Iterator[SpeechChunk]:
        """The greeting a sentence at a time, each chunk marked ``last``; pauses between
        sentences are the default backend's, so every voice keeps the same rhythm.
        """
        cache = self._prompt_cache(profile)
        clock = 0.0
        for index, sentence in enumerate(sentences):
            if index:
                clock += pause_after(sentences[index - 1])
            wav = self._sentence(sentence, cache)
            samples = np.clip(wav * level_gain(wav, self.rate), -1.0, 1.0).astype(np.float32)
            yield SpeechChunk(index, clock, samples, self.rate, last=True)
            clock += len(samples) / self.rate

    def budget(self, text: str) -> int:
        """Patches VoxCPM may spend on ``text``: enough for slow speech, never minutes of it."""
        chinese = sum("\u4e00" <= char <= "\u9fff" for char in text)
        seconds = _BUDGET_BASE_S + (chinese + (len(text) - chinese) / 3) * _BUDGET_S_PER_CHAR
        return math.ceil(seconds / self.patch_s)

    def _sentence(self, text: str, cache: dict[str, Any] | None) -> npt.NDArray[np.float32]:
        audio, _tokens, _features = self._model.generate_with_prompt_cache(
            target_text=" ".join(text.split()),
            prompt_cache=cache,
            max_len=self.budget(text),
            inference_timesteps=INFERENCE_STEPS,
            cfg_value=CFG_VALUE,
            retry_badcase=False,  # the budget already bounds a sentence that runs on
        )
        wav: npt.NDArray[np.float32] = audio.squeeze(0).float().numpy()
        return wav

    def _prompt_cache(self, profile: SpeakerProfile | None) -> dict[str, Any] | None:
        if profile is None:
            return None
        blob = profile.extensions.get(self.name)
        if blob is None:
            raise ValueError("the speaker profile has no VoxCPM latents: enrol the subject first")
        reference = decode_reference(blob)
        if reference.model != self.fingerprint:
            raise ProfileFormatError(
                "the VoxCPM latents were computed by another audio VAE: enrol the subject again"
            )
        expected = (int(self._model.patch_size), int(self._model.audio_vae.latent_dim))
        if reference.features.shape[1:] != expected:
            raise ProfileFormatError(
                f"VoxCPM latents are {reference.features.shape[1:]}, the model {expected}"
            )
        import torch

        return {"ref_audio_feat": torch.from_numpy(reference.features), "mode": "reference"}


def load_voxcpm(folder: Path) -> VoxcpmVoice:
    """The model in ``folder`` on the best device there is; see the module docstring."""
    vae = _check_folder(folder)
    torch, model_class, module = _import_voxcpm()
    _check_config(folder / "config.json")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        model = model_class.from_local(str(folder), optimize=False, device=device)
    except Exception as exc:  # pydantic, tokenizers, safetensors and torch each raise their own
        raise VoiceUnavailable(f"VoxCPM2 cannot load {folder}: {_first_line(exc)}") from exc
    _check_complete(folder / "model.safetensors", model)
    module.tqdm = partial(module.tqdm, disable=True)  # a progress bar per sentence, in logs
    return VoxcpmVoice(model, _digest(folder / vae), device)


def decode_reference(blob: bytes) -> _Reference:
    """Read an enrolment back; raises ProfileFormatError for anything ``enrol`` did not write."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
            if str(stored["format"]) != _FORMAT:
                raise ProfileFormatError("not Tuanyuan's VoxCPM reference latents")
            version = int(stored["version"])
            if version != _VERSION:
                raise ProfileFormatError(f"VoxCPM latents version {version} unsupported")
            reference = _Reference(str(stored["model"]),
                                   np.asarray(stored["features"], np.float32))  # fmt: skip
    except ProfileFormatError:
        raise
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ProfileFormatError(f"not Tuanyuan's VoxCPM reference latents: {exc}") from exc
    if reference.features.ndim != 3 or not len(reference.features):
        raise ProfileFormatError("VoxCPM latents have the wrong shape")
    return reference


def _encode(reference: _Reference) -> bytes:
    out = io.BytesIO()
    np.savez(out, format=np.array(_FORMAT), version=np.array(_VERSION),
             model=np.array(reference.model), features=reference.features)  # fmt: skip
    return out.getvalue()


def _resampled(samples: npt.NDArray[np.float32], rate: int, target: int) -> npt.NDArray[np.float32]:
    audio = np.asarray(samples, np.float32)
    if rate == target:
        return audio
    divisor = math.gcd(rate, target)
    resampled: npt.NDArray[np.float32] = resample_poly(audio, target // divisor, rate // divisor)
    return resampled.astype(np.float32)


def _check_folder(folder: Path) -> str:
    """The folder's audio VAE file name, once everything the model needs is there."""
    if not folder.is_dir():
        raise VoiceUnavailable(f"VoxCPM folder {folder} does not exist or is not a folder")
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise VoiceUnavailable(f"{name} is missing from {folder}")
    vae = next((name for name in VAE_FILES if (folder / name).is_file()), None)
    if vae is None:
        raise VoiceUnavailable(f"neither {' nor '.join(VAE_FILES)} is in {folder}")
    return vae


def _check_config(path: Path) -> None:
    import json

    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise VoiceUnavailable(f"config.json is not JSON: {_first_line(exc)}") from exc
    architecture = config.get("architecture") if isinstance(config, dict) else None
    if architecture != "voxcpm2":
        raise VoiceUnavailable(
            f"config.json is not a VoxCPM2 config (architecture {architecture!r})"
        )


def _import_voxcpm() -> tuple[Any, Any, Any]:
    # Tuanyuan never downloads: make the hub libraries fail fast instead of trying.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["MODELSCOPE_OFFLINE"] = "1"
    try:
        import torch
        from voxcpm.model import voxcpm2
    except ImportError as exc:
        raise VoiceUnavailable(
            f"voxcpm is not installed (make install-xtts installs it): {_first_line(exc)}"
        ) from exc
    return torch, voxcpm2.VoxCPM2Model, voxcpm2


def _check_complete(weights: Path, model: Any) -> None:
    """Every weight of the model but the audio VAE's (its own file) is in ``weights``."""
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as stored:
        present = set(stored.keys())
    missing = sorted(key for key in model.state_dict()
                     if not key.startswith("audio_vae.") and key not in present)  # fmt: skip
    if missing:
        raise VoiceUnavailable(
            f"model.safetensors does not fit config.json: {len(missing)} weights missing, "
            f"such as {missing[0]}"
        )


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as inp:
        while block := inp.read(_HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 240 else line[:237] + "..."
