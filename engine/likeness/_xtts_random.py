"""An XTTS-v2 with random weights, written in the release's file layout, for tests and the
benchmark: no real weights exist on the project's machines and none may be downloaded.

The architecture is XTTS-v2's (perceiver conditioning, 1026 audio tokens) at any size: full
size for speed figures (speed does not depend on the weights' values), a few narrow layers for
tests. The vocabulary is character-level over what XTTS's text cleaners emit for English and
for Mandarin pinyin. Random weights almost never pick the stop token, so by default it is
suppressed outright: every piece then runs to Tuanyuan's token budget and its length is
predictable. ``legacy`` writes model.pth as the original release does (the config pickled as an
object), which is the kind coqui rewrites in place on first load.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STOCK_SPEAKER = "Random Stock Voice"
_SPECIAL_TOKENS = ("[STOP]", "[UNK]", "[SPACE]", "[START]", "[en]", "[zh-cn]")
_CHARACTERS = string.ascii_lowercase + string.digits + ".,!?'-:;\"()"


@dataclass(frozen=True)
class RandomXtts:
    """The size of the model to write; the defaults are XTTS-v2's own."""

    layers: int = 30
    width: int = 1024
    heads: int = 16
    max_audio_tokens: int = 605  # per piece: ~28 s of speech
    max_text_tokens: int = 402  # a character-level vocabulary needs more than XTTS's BPE
    suppress_stop: bool = True
    legacy: bool = False
    stock_voice: bool = False
    seed: int = 0


def write_random_xtts(folder: Path, size: RandomXtts) -> Path:
    """config.json, model.pth and vocab.json (and speakers_xtts.pth) in ``folder``."""
    import torch
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    folder.mkdir(parents=True, exist_ok=True)
    write_vocab(folder / "vocab.json")
    config = XttsConfig()
    args = config.model_args
    args.gpt_layers = size.layers
    args.gpt_n_model_channels = size.width
    args.gpt_n_heads = size.heads
    args.decoder_input_dim = size.width  # HiFi-GAN reads the GPT's latents
    args.gpt_max_audio_tokens = size.max_audio_tokens
    args.gpt_max_text_tokens = size.max_text_tokens
    args.gpt_use_perceiver_resampler = True
    args.gpt_num_audio_tokens = 1026
    args.gpt_start_audio_token = 1024
    args.gpt_stop_audio_token = 1025
    with torch.random.fork_rng():
        torch.manual_seed(size.seed)
        model = Xtts(config)
        model.tokenizer = VoiceBpeTokenizer(vocab_file=str(folder / "vocab.json"))
        model.init_models()  # the GPT is only built once the vocabulary is known
        if size.suppress_stop:
            with torch.no_grad():
                model.gpt.mel_head.bias[args.gpt_stop_audio_token] = -1e4
        if size.stock_voice:
            embedding = torch.nn.functional.normalize(torch.randn(1, 512, 1), dim=1)
            voice = {"gpt_cond_latent": torch.randn(1, 32, size.width),
                     "speaker_embedding": embedding}  # fmt: skip
            torch.save({STOCK_SPEAKER: voice}, folder / "speakers_xtts.pth")
    config.save_json(str(folder / "config.json"))
    _save_checkpoint(model.state_dict(), config, folder / "model.pth", size.legacy)
    return folder


def write_vocab(path: Path) -> None:
    """A character-level tokenizer in the format of XTTS's vocab.json."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {token: index for index, token in enumerate((*_SPECIAL_TOKENS, *_CHARACTERS))}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(list(_SPECIAL_TOKENS))
    tokenizer.save(str(path))


def _save_checkpoint(state: dict[str, Any], config: Any, path: Path, legacy: bool) -> None:
    import torch
    from TTS.tts.configs.xtts_config import XttsArgs, XttsAudioConfig

    if not legacy:
        torch.save({"model": state, "config": config.to_dict()}, path)
        return
    # The release pickled its config with these classes under their old module.
    modules = XttsArgs.__module__, XttsAudioConfig.__module__
    XttsArgs.__module__ = XttsAudioConfig.__module__ = "TTS.tts.models.xtts"
    try:
        torch.save({"model": state, "config": config}, path)
    finally:
        XttsArgs.__module__, XttsAudioConfig.__module__ = modules
