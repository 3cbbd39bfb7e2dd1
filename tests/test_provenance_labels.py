"""The implicit AIGC label and C2PA credentials, read back from the files they were written to."""

import datetime
import multiprocessing
import subprocess
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import numpy.typing as npt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from engine._models import Language
from engine._scene import _label_layer
from engine.provenance import read_aigc, read_c2pa, sign_mp4, signing_identity
from engine.provenance._c2pa import LEAF_YEARS, RENEW_BEFORE, _make_local_chain
from tests.auxil.provenance import marked_greeting, unmarked_greeting

CONSENT = "9f" * 32


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("labels")
    source, _ = marked_greeting(directory, seed=7, size=(640, 360), seconds=2.0)
    keys = directory / "keys"
    destination = directory / "signed.mp4"
    sign_mp4(source, destination, signing_identity(keys, {}), render_id="render-7",
             template_id="mid-autumn", consent_sha256=CONSENT)  # fmt: skip
    return destination, keys


def test_aigc_metadata_is_written_once_and_parses(signed: tuple[Path, Path]) -> None:
    path, _ = signed
    label = read_aigc(path)
    assert label is not None
    assert label.Label == "1" and label.ContentProducer == "Tuanyuan"
    assert label.ProduceID == "render-7" and len(label.ReservedCode1) == 16
    assert path.read_bytes().count(b"AIGC") == 1


def test_unlabelled_video_has_no_aigc(tmp_path: Path) -> None:
    assert read_aigc(unmarked_greeting(tmp_path, 1, (320, 240), 1.0)) is None


def test_c2pa_is_valid_and_trusted_with_the_project_anchor(signed: tuple[Path, Path]) -> None:
    path, keys = signed
    assert read_c2pa(path).state == "valid"
    reading = read_c2pa(path, (keys / "root.pem").read_bytes())
    assert reading.state == "trusted"
    assert reading.render == {
        "render_id": "render-7", "template_id": "mid-autumn", "consent_sha256": CONSENT,
    }  # fmt: skip


def test_one_tampered_byte_invalidates_the_manifest(
    signed: tuple[Path, Path], tmp_path: Path
) -> None:
    path, keys = signed
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    assert read_c2pa(tampered, (keys / "root.pem").read_bytes()).state == "invalid"


def test_another_root_does_not_trust_our_signature(
    signed: tuple[Path, Path], tmp_path: Path
) -> None:
    path, _ = signed
    stranger = signing_identity(tmp_path / "other", {})
    assert read_c2pa(path, stranger.trust_anchor).state != "trusted"


def test_local_chain_keeps_only_the_leaf_key_private(signed: tuple[Path, Path]) -> None:
    _, keys = signed
    assert sorted(p.name for p in keys.iterdir()) == ["chain.pem", "leaf.key", "root.pem"]
    assert (keys / "leaf.key").stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in repr(signing_identity(keys, {}))


def test_operator_chain_from_the_environment_is_used(tmp_path: Path) -> None:
    made = signing_identity(tmp_path / "operator", {})
    env = {
        "TUANYUAN_C2PA_CERT_CHAIN": str(tmp_path / "operator" / "chain.pem"),
        "TUANYUAN_C2PA_KEY": str(tmp_path / "operator" / "leaf.key"),
        "TUANYUAN_C2PA_TRUST_ANCHOR": str(tmp_path / "operator" / "root.pem"),
    }
    assert signing_identity(tmp_path / "unused", env) == made
    assert not (tmp_path / "unused").exists()
    with pytest.raises(ValueError, match="set all of"):
        signing_identity(tmp_path / "unused", {"TUANYUAN_C2PA_KEY": "x"})


def test_a_remux_after_signing_strips_the_manifest(
    signed: tuple[Path, Path], tmp_path: Path
) -> None:
    """Why signing must come last: even a lossless stream copy loses the credentials."""
    path, _ = signed
    remuxed = tmp_path / "remuxed.mp4"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(path)]
    subprocess.run([*command, "-c", "copy", str(remuxed)], check=True)
    assert read_c2pa(remuxed).state == "absent"
    assert read_c2pa(unmarked_greeting(tmp_path, 2, (320, 240), 1.0)).state == "absent"


@pytest.mark.parametrize("language", ["en", "zh-Hant", "zh-Hans"])
@pytest.mark.parametrize("size", [(1280, 720), (720, 1280), (720, 720), (1920, 1080)])
def test_visible_label_letters_reach_5_percent_of_the_shorter_side(
    language: Language, size: tuple[int, int]
) -> None:
    """GB 45438-2025's visible label, measured on its drawn pixels: "AI", the first two
    letters of every label, from their top to the baseline they stand on (no descenders)."""
    letters_ai = np.hstack(_letters_a_and_i(language, min(size) / 720))
    rows = np.flatnonzero(letters_ai.any(axis=1))
    assert rows[-1] - rows[0] + 1 >= 0.05 * min(size)


@pytest.mark.parametrize("language", ["en", "zh-Hant", "zh-Hans"])
def test_the_labels_capital_i_has_serifs_so_ai_never_reads_al(language: Language) -> None:
    """A sans-serif capital I is one bare stroke, which readers take for a small L: the label
    read "Al-generated". Its I is drawn with serifs: wider at its top and foot than between."""
    _, letter_i = _letters_a_and_i(language, 1.0)
    rows = np.flatnonzero(letter_i.any(axis=1))
    middle = letter_i[(rows[0] + rows[-1]) // 2].sum()
    assert letter_i[rows[0] + 1].sum() >= 2 * middle
    assert letter_i[rows[-1] - 1].sum() >= 2 * middle


def _letters_a_and_i(
    language: Language, unit: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The label's first two letters as drawn: white text pixels, "A" and then "I"."""
    label = _label_layer(language, unit)
    text = (label.alpha[..., 0] > 0.5) & (label.premultiplied.min(axis=2) > 128)
    columns = np.flatnonzero(text.any(axis=0))
    gaps = np.flatnonzero(np.diff(columns) > 1)  # where "A" ends, then "I"
    return (
        text[:, columns[0] : columns[gaps[0]] + 1],
        text[:, columns[gaps[0] + 1] : columns[gaps[1]] + 1],
    )


def test_a_leaf_near_its_end_is_renewed_and_older_greetings_stay_trusted(
    signed: tuple[Path, Path], tmp_path: Path
) -> None:
    source, _ = signed
    keys = tmp_path / "keys"
    # A chain made almost two years ago: its leaf has a month left, within RENEW_BEFORE.
    made = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=365 * LEAF_YEARS - 30)
    keys.mkdir()
    _make_local_chain(keys, made)
    old = signing_identity(keys.with_name("unused"), {
        "TUANYUAN_C2PA_CERT_CHAIN": str(keys / "chain.pem"),
        "TUANYUAN_C2PA_KEY": str(keys / "leaf.key"),
        "TUANYUAN_C2PA_TRUST_ANCHOR": str(keys / "root.pem"),
    })  # fmt: skip
    before = tmp_path / "before.mp4"
    sign_mp4(source, before, old, render_id="render-8", template_id="mid-autumn",
             consent_sha256=CONSENT)  # fmt: skip
    renewed = signing_identity(keys, {})
    assert renewed.chain != old.chain
    leaf = x509.load_pem_x509_certificates(renewed.chain)[0]
    assert leaf.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > RENEW_BEFORE
    assert read_c2pa(before, renewed.trust_anchor).state == "trusted"


def _identity_in(keys: Path, start: Any) -> tuple[bytes, bytes]:
    start.wait()
    identity = signing_identity(keys, {})
    return identity.chain, identity.private_key


def test_processes_making_the_chain_at_once_all_get_one_matching_pair(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for trial in range(3):
        keys = tmp_path / f"keys{trial}"
        with context.Manager() as manager, context.Pool(6) as pool:
            start = manager.Barrier(6)
            pairs = pool.starmap(_identity_in, [(keys, start)] * 6)
        assert len(set(pairs)) == 1
        chain, private_key = pairs[0]
        leaf = x509.load_pem_x509_certificates(chain)[0]
        key = serialization.load_pem_private_key(private_key, password=None)
        raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        assert leaf.public_key().public_bytes(*raw) == key.public_key().public_bytes(*raw)
        assert (keys / "chain.pem").read_bytes() == chain
        assert (keys / "leaf.key").read_bytes() == private_key
