"""A small random-weight VoxCPM2 in the release's file layout.

One narrow layer in every transformer and a narrow audio VAE (its strides, hence its 16 kHz in,
48 kHz out and 0.16 s per patch, are the release's) keep it fast on two cores. Its stop is made
impossible, so every sentence runs to Tuanyuan's budget: audio length follows the text.
"""

from __future__ import annotations

from pathlib import Path

from engine.likeness._voxcpm_random import RandomVoxcpm, write_random_voxcpm

TINY = RandomVoxcpm(
    lm_layers=1, lm_width=64, lm_ffn=128, lm_heads=2, lm_kv_heads=1, head_dim=32,
    residual_layers=1, local_layers=1, local_width=64, local_ffn=128, local_heads=2,
    vae_encoder_dim=16, vae_decoder_dim=128,  # the decoder halves its width six times
    vocab_size=21_300, dtype="float32",
)  # fmt: skip


def tiny_voxcpm(folder: Path) -> Path:
    return write_random_voxcpm(folder, TINY)
