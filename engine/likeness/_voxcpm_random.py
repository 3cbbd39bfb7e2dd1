"""A VoxCPM2 with random weights, written in the release's file layout, for tests and the
benchmark: no real weights exist on the project's machines and none may be downloaded.

The architecture is VoxCPM2's (a MiniCPM-4 base LM, a residual LM without RoPE, local encoder
and diffusion decoder, the 16 kHz-in, 48 kHz-out audio VAE) at any size: full size (about 2B
parameters, as the release's config.json describes it) for speed figures, a few narrow layers
for tests. The tokenizer is character-level over printable ASCII and the CJK block, with the
first 128 ids reserved as in the release (VoxCPM2 uses 101-104 as audio markers). Random
weights almost never predict the stop, so by default it is made impossible (the stop head's
weights zeroed: both logits equal, and the argmax is "go on"): every sentence then runs to
Tuanyuan's budget and its length is predictable.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_RESERVED_IDS = 128
_CJK = (0x4E00, 0xA000)
_CHINESE_PUNCTUATION = "，。！？、；：「」『』（）《》…—"


@dataclass(frozen=True)
class RandomVoxcpm:
    """The size of the model to write; the defaults are VoxCPM2's own."""

    lm_layers: int = 28
    lm_width: int = 2048
    lm_ffn: int = 6144
    lm_heads: int = 16
    lm_kv_heads: int = 2
    head_dim: int = 128
    residual_layers: int = 8
    local_layers: int = 12  # the local encoder's and the diffusion decoder's
    local_width: int = 1024
    local_ffn: int = 4096
    local_heads: int = 16
    vae_encoder_dim: int = 128
    vae_decoder_dim: int = 2048
    vocab_size: int = 73448
    dtype: str = "bfloat16"
    suppress_stop: bool = True
    seed: int = 0


def write_random_voxcpm(folder: Path, size: RandomVoxcpm) -> Path:
    """config.json, model.safetensors, audiovae.safetensors and the tokenizer in ``folder``."""
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaTokenizerFast
    from voxcpm.model.voxcpm2 import VoxCPM2Model, VoxCPMConfig
    from voxcpm.modules.audiovae import AudioVAEConfigV2, AudioVAEV2

    folder.mkdir(parents=True, exist_ok=True)
    write_tokenizer(folder)
    config = _config(size)
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    default_dtype = torch.get_default_dtype()
    with torch.random.fork_rng():
        torch.manual_seed(size.seed)
        vae = AudioVAEV2(config=AudioVAEConfigV2(**config["audio_vae_config"]))  # fp32, as shipped
        # Built directly in the release's dtype: a full-size model in fp32 would take 8 GB here.
        torch.set_default_dtype(getattr(torch, size.dtype))
        try:
            model = VoxCPM2Model(
                VoxCPMConfig.model_validate(config),
                LlamaTokenizerFast.from_pretrained(str(folder)),
                vae,
                device="cpu",
            )
        finally:
            torch.set_default_dtype(default_dtype)
        if size.suppress_stop:
            with torch.no_grad():
                model.stop_head.weight.zero_()
    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    save_file({k: v for k, v in state.items() if not k.startswith("audio_vae.")},
              str(folder / "model.safetensors"))  # fmt: skip
    save_file({k.removeprefix("audio_vae."): v for k, v in state.items()
               if k.startswith("audio_vae.")}, str(folder / "audiovae.safetensors"))  # fmt: skip
    return folder


def write_tokenizer(folder: Path) -> None:
    """A character-level tokenizer saved as the release's LlamaTokenizerFast files."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import LlamaTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"<reserved_{index}>": index for index in range(3, _RESERVED_IDS)})
    characters = [*string.ascii_letters, *string.digits, *string.punctuation,
                  *map(chr, range(*_CJK)), *_CHINESE_PUNCTUATION]  # fmt: skip
    for character in characters:
        vocab.setdefault(character, len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    wrapped = LlamaTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>",
                                 eos_token="</s>", add_bos_token=False)  # fmt: skip
    wrapped.save_pretrained(str(folder))


def _config(size: RandomVoxcpm) -> dict[str, Any]:
    half = size.head_dim // 2
    return {
        "architecture": "voxcpm2",
        "lm_config": {
            "bos_token_id": 1,
            "eos_token_id": 2,
            "hidden_size": size.lm_width,
            "intermediate_size": size.lm_ffn,
            "max_position_embeddings": 32768,
            "num_attention_heads": size.lm_heads,
            "num_hidden_layers": size.lm_layers,
            "num_key_value_heads": size.lm_kv_heads,
            "kv_channels": size.head_dim,
            "rms_norm_eps": 1e-05,
            "rope_theta": 10000,
            "rope_scaling": {
                "type": "longrope",
                "long_factor": [1.0 + index / half for index in range(half)],
                "short_factor": [1.0 + index / half for index in range(half)],
                "original_max_position_embeddings": 32768,
            },
            "vocab_size": size.vocab_size,
            "use_mup": False,
            "scale_emb": 12,
            "dim_model_base": 256,
            "scale_depth": 1.4,
        },
        "patch_size": 4,
        "feat_dim": 64,
        "residual_lm_num_layers": size.residual_layers,
        "residual_lm_no_rope": True,
        "scalar_quantization_latent_dim": 512,
        "scalar_quantization_scale": 9,
        "encoder_config": _local(size),
        "dit_config": {
            **_local(size),
            "cfm_config": {"solver": "euler", "inference_cfg_rate": 2.0},
        },
        "audio_vae_config": {
            "encoder_dim": size.vae_encoder_dim,
            "decoder_dim": size.vae_decoder_dim,
            "sample_rate": 16000,
            "out_sample_rate": 48000,
        },
        "max_length": 8192,
        "device": "cuda",
        "dtype": size.dtype,
    }


def _local(size: RandomVoxcpm) -> dict[str, Any]:
    """The local encoder's and decoder's sizes; their heads are as wide as the LM's, as the
    LM's rope scaling factors (one per pair of head dimensions) serve them too."""
    return {"hidden_dim": size.local_width, "ffn_dim": size.local_ffn,
            "num_heads": size.local_heads, "num_layers": size.local_layers,
            "kv_channels": size.head_dim}  # fmt: skip
