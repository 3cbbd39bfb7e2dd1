"""No consent, no render: the engine refuses a spec without a consent that is current now."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import ConsentReference, RenderError, RenderSpec, render


def _spec(tmp_path: Path, consent: ConsentReference | None) -> RenderSpec:
    return RenderSpec(
        render_id="consent-check",
        template_id="mid-autumn",
        language="en",
        portrait=tmp_path / "face.jpg",
        recipient="Grandma",
        output_dir=tmp_path / "out",
        consent=consent,
    )


def test_a_spec_without_consent_is_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="no consent reference"):
        render(_spec(tmp_path, None))
    assert not (tmp_path / "out").exists()


def test_a_consent_that_ended_before_the_render_is_refused(tmp_path: Path) -> None:
    ended = ConsentReference(
        consent_id="c1",
        record_hash="0" * 64,
        valid_until=datetime.now(UTC) - timedelta(seconds=1),
    )
    with pytest.raises(RenderError, match="ended"):
        render(_spec(tmp_path, ended))
    assert not (tmp_path / "out").exists()
