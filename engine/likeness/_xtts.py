"""Voice cloning with Coqui's XTTS-v2, from weights an operator installed; nothing is downloaded.

The folder holds XTTS-v2's release files: ``config.json``, ``model.pth``, ``vocab.json`` and,
optionally, ``speakers_xtts.pth`` (stock studio voices). coqui-tts (the ``xtts`` extra) is
imported on first load only, so the engine runs without it.

Decisions, and why:

- Loading works on a private copy in a 0700 temporary folder, deleted once the weights are in
  memory: the original release's ``model.pth`` is an old pickle that coqui re-saves in place
  on first load, and the operator's folder may be read-only or shared.
- The copy is hashed on the way; the hash goes into every enrolment, so speaker latents made
  by one set of weights are never fed to another (they would speak in a stranger's voice).
- CUDA when torch sees it, else CPU; fp32 throughout. Half precision for the GPT was not
  enabled: its effect on the real weights cannot be checked without them, GPT-2 attention is
  known to overflow in fp16 without extra care, and fp32 on a GPU is already many times faster
  than a greeting is long.
- Each piece of text gets a token budget of a generous speaking time for its length, so a
  model that does not emit its stop token (XTTS sometimes babbles on) cannot run for minutes.
- Streaming: every piece is decoded whole and yielded as soon as it is, so a render composes
  each sentence while the next is spoken (``engine/_speaking.py``). Chunks within a piece are
  available for the first piece only (``first_chunk_tokens``, coqui's default 20 tokens, about
  0.93 s of audio: the first-chunk latency ``bench voice`` reports), because coqui's streaming
  re-decodes the piece from its start for every chunk: a quadratic HiFi-GAN cost, several times
  real time on a CPU for a long sentence, that a render (which needs whole sentences for its
  subtitles) would pay for nothing.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from engine._models import SpokenLanguage
from engine.likeness._profile import ProfileFormatError, SpeakerProfile
from engine.likeness._streaming import SpeechChunk, level_gain
from engine.likeness._voice import Clip, StreamingVoice, pause_after
from engine.likeness._xtts_text import LANGUAGE_NAME, XTTS_LANGUAGE, split_to_limit, token_budget

if TYPE_CHECKING:
    import torch

REQUIRED_FILES = ("config.json", "model.pth", "vocab.json")
SPEAKERS_FILE = "speakers_xtts.pth"
EXTENSION = "xtts"  # the key of the subject's latents in SpeakerProfile.extensions
FIRST_CHUNK_TOKENS = 20  # ~0.93 s of audio: coqui's default streaming chunk, for listeners
_FORMAT = "tuanyuan-xtts-latents"
_VERSION = 1
_COPY_CHUNK = 8 << 20


class VoiceUnavailable(Exception):
    """XTTS cannot be used; ``reason`` says exactly what to fix, in words an admin can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Latents:
    model: str  # the weights' fingerprint
    gpt_cond_latent: npt.NDArray[np.float32]  # (1, 32, model dim)
    speaker_embedding: npt.NDArray[np.float32]  # (1, 512, 1)


def xtts_language(language: SpokenLanguage) -> str:
    code = XTTS_LANGUAGE[language]
    if code is None:
        raise VoiceUnavailable(f"XTTS cannot speak {LANGUAGE_NAME[language]}")
    return code


class XttsVoice(StreamingVoice):
    """XTTS-v2 speaking in the subject's voice, cloned from all their accepted samples.

    ``enrol`` computes the GPT conditioning latents and the speaker embedding once; ``stream``
    yields the greeting chunk by chunk and ``synthesize`` returns it whole (24 kHz, one cue per
    sentence). With no profile it speaks in the first stock voice of ``speakers_xtts.pth``.
    """

    name = EXTENSION

    def __init__(
        self,
        model: Any,
        fingerprint: str,
        device: str,
        speakers: Mapping[str, _Latents] | None = None,
    ) -> None:
        self._model = model
        self.fingerprint = fingerprint
        self.device = device
        self._speakers = dict(speakers or {})

    @classmethod
    def load(cls, folder: Path) -> XttsVoice:
        """Load the weights in ``folder``; raises VoiceUnavailable saying what is wrong."""
        return load_xtts(folder)

    @property
    def rate(self) -> int:
        return int(self._model.config.model_args.output_sample_rate)

    @property
    def default_speaker(self) -> str | None:
        """The stock voice used when a subject has no usable samples, if the folder has any."""
        return next(iter(self._speakers), None)

    def enrol(self, clips: Sequence[Clip]) -> bytes:
        """Speaker latents from every clip: GPT conditioning over all of them joined (its
        window raised to their whole length, not XTTS's default 12 s), the speaker embedding
        averaged over the clips, as coqui's own ``get_conditioning_latents`` averages files.
        """
        if not clips:
            raise ValueError("XTTS enrolment needs at least one voice sample")
        import torch
        from torchaudio.functional import resample

        gpt_rate = int(self._model.config.audio.sample_rate)
        waves = [(torch.from_numpy(np.asarray(samples, np.float32))[None], rate)
                 for samples, rate in clips]  # fmt: skip
        joined = torch.cat([resample(wave, rate, gpt_rate) for wave, rate in waves], dim=1)
        latent = self._model.get_gpt_cond_latents(
            joined,
            gpt_rate,
            length=max(math.ceil(joined.shape[1] / gpt_rate), int(self._model.config.gpt_cond_len)),
            chunk_length=int(self._model.config.gpt_cond_chunk_len),
        )
        embedding = torch.stack(
            [self._model.get_speaker_embedding(wave, rate) for wave, rate in waves]
        ).mean(dim=0)
        return _encode(_Latents(self.fingerprint, _numpy(latent), _numpy(embedding)))

    def is_enrolled(self, profile: SpeakerProfile) -> bool:
        """Whether the profile holds latents these very weights computed."""
        blob = profile.extensions.get(self.name)
        if blob is None:
            return False
        try:
            return decode_latents(blob).model == self.fingerprint
        except ProfileFormatError:
            return False

    def stream(
        self,
        sentences: Sequence[str],
        language: SpokenLanguage,
        profile: SpeakerProfile | None,
        *,
        first_chunk_tokens: int = 0,
    ) -> Iterator[SpeechChunk]:
        """The greeting as chunks in order; each sentence ends with a (possibly empty) chunk
        marked ``last``. Pauses between sentences are the default backend's, so both voices
        keep the same rhythm. Raises VoiceUnavailable for a language XTTS cannot speak.

        Each piece comes whole unless ``first_chunk_tokens`` asks for the first one in chunks
        of that many audio tokens, for a listener who plays speech as it comes (see the module
        docstring for its cost). A render composes whole sentences, so it does not ask.
        """
        code = xtts_language(language)
        latents = self._conditioning(profile)
        limit = int(self._model.tokenizer.char_limits[code.split("-")[0]])
        clock = 0.0
        chunk_tokens = first_chunk_tokens
        for index, sentence in enumerate(sentences):
            if index:
                clock += pause_after(sentences[index - 1])
            gain: float | None = None  # set by the sentence's first chunk, kept for the rest
            for piece in split_to_limit(sentence, limit):
                for wav in self._piece(piece, code, latents, chunk_tokens):
                    gain = level_gain(wav, self.rate) if gain is None else gain
                    samples = np.clip(wav * gain, -1.0, 1.0).astype(np.float32)
                    yield SpeechChunk(index, clock, samples, self.rate, last=False)
                    clock += len(samples) / self.rate
                chunk_tokens = 0  # later pieces in one chunk each (see the module docstring)
            yield SpeechChunk(index, clock, np.zeros(0, np.float32), self.rate, last=True)

    def _piece(
        self, text: str, code: str, latents: _Latents, chunk_tokens: int
    ) -> Iterator[npt.NDArray[np.float32]]:
        import torch

        config = self._model.config
        tokens_per_s = config.audio.sample_rate / config.model_args.gpt_code_stride_len
        budget = token_budget(text, code, tokens_per_s, int(self._model.gpt.max_gen_mel_tokens))
        for wav in self._model.inference_stream(
            text,
            code,
            torch.from_numpy(latents.gpt_cond_latent),
            torch.from_numpy(latents.speaker_embedding),
            stream_chunk_size=chunk_tokens,
            temperature=config.temperature,
            length_penalty=config.length_penalty,
            repetition_penalty=config.repetition_penalty,
            top_k=config.top_k,
            top_p=config.top_p,
            max_new_tokens=budget,
        ):
            yield wav.detach().float().cpu().numpy()

    def _conditioning(self, profile: SpeakerProfile | None) -> _Latents:
        if profile is None:
            speaker = self.default_speaker
            if speaker is None:
                raise VoiceUnavailable(
                    f"no voice samples to clone, and no {SPEAKERS_FILE} with a stock voice"
                )
            return self._speakers[speaker]
        blob = profile.extensions.get(self.name)
        if blob is None:
            raise ValueError("the speaker profile has no XTTS latents: enrol the subject first")
        latents = decode_latents(blob)
        if latents.model != self.fingerprint:
            raise ProfileFormatError(
                "the XTTS latents were computed by other weights: enrol the subject again"
            )
        width = int(self._model.config.model_args.gpt_n_model_channels)
        if latents.gpt_cond_latent.shape[-1] != width:
            raise ProfileFormatError(f"XTTS latents are {latents.gpt_cond_latent.shape[-1]} wide, "
                                     f"the model {width}")  # fmt: skip
        return latents


def load_xtts(folder: Path) -> XttsVoice:
    """The model in ``folder`` on the best device there is; see the module docstring."""
    _check_folder(folder)
    torch, xtts_config, xtts = _import_coqui()
    config = xtts_config()
    try:
        config.load_json(str(folder / "config.json"))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise VoiceUnavailable(f"config.json is not an XTTS config: {_first_line(exc)}") from exc
    _check_vocab(folder / "vocab.json")
    speakers = _read_speakers(torch, folder / SPEAKERS_FILE)
    with tempfile.TemporaryDirectory(prefix="tuanyuan-xtts-") as scratch:
        private = Path(scratch)
        digests = {name: _copy(folder / name, private / name) for name in REQUIRED_FILES}
        fingerprint = digests["model.pth"]
        model = xtts(config)
        try:
            model.load_checkpoint(config, checkpoint_dir=str(private), eval=True)
        except Exception as exc:  # coqui and torch raise many kinds for a bad checkpoint
            raise VoiceUnavailable(_checkpoint_problem(exc)) from exc
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    return XttsVoice(
        model,
        fingerprint,
        device,
        {name: _Latents(fingerprint, *pair) for name, pair in speakers.items()},
    )


def decode_latents(blob: bytes) -> _Latents:
    """Read an enrolment back; raises ProfileFormatError for anything ``enrol`` did not write."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
            if str(stored["format"]) != _FORMAT:
                raise ProfileFormatError("not Tuanyuan's XTTS speaker latents")
            version = int(stored["version"])
            if version != _VERSION:
                raise ProfileFormatError(f"XTTS latents version {version} unsupported")
            latents = _Latents(
                model=str(stored["model"]),
                gpt_cond_latent=np.asarray(stored["gpt_cond_latent"], np.float32),
                speaker_embedding=np.asarray(stored["speaker_embedding"], np.float32),
            )
    except ProfileFormatError:
        raise
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ProfileFormatError(f"not Tuanyuan's XTTS speaker latents: {exc}") from exc
    if latents.gpt_cond_latent.ndim != 3 or latents.speaker_embedding.ndim != 3:
        raise ProfileFormatError("XTTS latents have the wrong shape")
    return latents


def _encode(latents: _Latents) -> bytes:
    out = io.BytesIO()
    np.savez(
        out,
        format=np.array(_FORMAT),
        version=np.array(_VERSION),
        model=np.array(latents.model),
        gpt_cond_latent=latents.gpt_cond_latent,
        speaker_embedding=latents.speaker_embedding,
    )
    return out.getvalue()


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise VoiceUnavailable(f"XTTS folder {folder} does not exist or is not a folder")
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise VoiceUnavailable(f"{name} is missing from {folder}")


def _import_coqui() -> tuple[Any, Any, Any]:
    # Tuanyuan never downloads: make the hub libraries fail fast instead of trying.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import torch
        from TTS.tts.configs.xtts_config import XttsConfig
        from TTS.tts.models.xtts import Xtts
    except ImportError as exc:
        raise VoiceUnavailable(
            f"coqui-tts is not installed (make install-xtts): {_first_line(exc)}"
        ) from exc
    except OSError as exc:  # a compiled extension that does not fit this torch
        raise VoiceUnavailable(f"coqui-tts cannot be imported: {_first_line(exc)}") from exc
    logging.getLogger("transformers.generation.utils").addFilter(_budget_notice)
    return torch, XttsConfig, Xtts


def _budget_notice(record: logging.LogRecord) -> bool:
    """Drop transformers' notice that the token budget overrides XTTS's own maximum: intended."""
    return "max_new_tokens" not in record.getMessage()


def _check_vocab(path: Path) -> None:
    from tokenizers import Tokenizer

    try:
        Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for a file it cannot parse
        raise VoiceUnavailable(f"vocab.json is not a tokenizer file: {_first_line(exc)}") from exc


def _read_speakers(
    torch: Any, path: Path
) -> dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
    if not path.is_file():
        return {}
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
        return {
            str(name): (_numpy(voice["gpt_cond_latent"]), _numpy(voice["speaker_embedding"]))
            for name, voice in stored.items()
        }
    except Exception as exc:  # torch.load raises many kinds for a damaged file
        raise VoiceUnavailable(f"{SPEAKERS_FILE} is corrupt: {_first_line(exc)}") from exc


def _copy(source: Path, target: Path) -> str:
    """Copy ``source`` and return its SHA-256, reading it once."""
    digest = hashlib.sha256()
    with source.open("rb") as inp, target.open("wb") as out:
        while block := inp.read(_COPY_CHUNK):
            digest.update(block)
            out.write(block)
    target.chmod(0o600)
    return digest.hexdigest()


def _checkpoint_problem(exc: Exception) -> str:
    message = _first_line(exc)
    if "Error(s) in loading state_dict" in message:
        return f"model.pth does not fit config.json: {message}"
    return f"model.pth is corrupt: {message}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 240 else line[:237] + "..."


def _numpy(tensor: torch.Tensor) -> npt.NDArray[np.float32]:
    return np.ascontiguousarray(tensor.detach().float().cpu().numpy(), dtype=np.float32)
