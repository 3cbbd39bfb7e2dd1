"""A render carrying a Marking comes out watermarked, labelled and signed, as detect() sees it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import REVEAL_SECRETS, ConsentReference, Marking, RenderResult, RenderSpec, render
from engine.provenance import DetectionReport, detect, make_payload, trust_anchor_from_env
from tests.auxil.media import portrait

KEY = bytes(range(32))
TOKEN = 0x12_3456_789A
CONSENT = ConsentReference.for_synthetic_media()


@pytest.fixture(scope="module")
def signing_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("c2pa")


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory, signing_dir: Path) -> RenderResult:
    media = tmp_path_factory.mktemp("media")
    return render(
        RenderSpec(
            render_id="marked-1",
            template_id="mid-autumn",
            language="en",
            portrait=portrait(media / "face.jpg"),
            recipient="Grandma",
            output_dir=tmp_path_factory.mktemp("out"),
            consent=CONSENT,
            marking=Marking(token=TOKEN, watermark_key=KEY, signing_dir=signing_dir),
        )
    )


@pytest.fixture(scope="module")
def report(marked: RenderResult, signing_dir: Path) -> DetectionReport:
    return detect(marked.video, KEY, trust_anchor_from_env(signing_dir, environ={}))


def test_picture_and_sound_carry_the_renders_token_with_a_verifying_mac(
    report: DetectionReport,
) -> None:
    expected = make_payload(TOKEN, KEY).hex
    assert report.video.mac_valid and report.video.payload == expected
    assert report.audio.mac_valid and report.audio.payload == expected
    assert report.made_by_service


def test_aigc_metadata_names_the_render_and_the_payload(report: DetectionReport) -> None:
    assert report.aigc is not None
    assert report.aigc["Label"] == "1"
    assert report.aigc["ProduceID"] == "marked-1"
    assert report.aigc["ReservedCode1"] == make_payload(TOKEN, KEY).hex


def test_aigc_key_appears_exactly_once_and_faststart_is_kept(marked: RenderResult) -> None:
    data = marked.video.read_bytes()
    assert data.count(b"AIGC") == 1
    assert data.index(b"moov") < data.index(b"mdat")


def test_c2pa_manifest_is_trusted_with_the_projects_anchor_and_names_the_consent(
    report: DetectionReport,
) -> None:
    assert report.c2pa.state == "trusted"
    assert report.c2pa.render is not None
    assert report.c2pa.render["render_id"] == "marked-1"
    assert report.c2pa.render["consent_sha256"] == CONSENT.record_hash


def test_the_key_never_shows_in_the_specs_repr(signing_dir: Path) -> None:
    marking = Marking(token=TOKEN, watermark_key=KEY, signing_dir=signing_dir)
    assert KEY.hex() not in repr(marking) and str(KEY) not in repr(marking)


def test_a_different_key_finds_nothing(marked: RenderResult) -> None:
    stranger = detect(marked.video, bytes(32))
    assert not stranger.video.mac_valid and not stranger.audio.mac_valid


def test_json_masks_the_key_unless_handing_the_spec_to_a_worker(signing_dir: Path) -> None:
    marking = Marking(token=TOKEN, watermark_key=KEY, signing_dir=signing_dir)
    assert KEY.hex() not in marking.model_dump_json()
    handed = marking.model_dump_json(context={REVEAL_SECRETS: True})
    assert Marking.model_validate_json(handed).watermark_key.get_secret_value() == KEY
    with pytest.raises(ValueError):
        Marking.model_validate_json(marking.model_dump_json())
