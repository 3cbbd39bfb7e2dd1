"""The short version of ``tuanyuan bench likeness``'s portrait half: one drawn face in one
layout for a few seconds, measured as the benchmark measures every face. (The voice half needs
``make bench-deps``: resemblyzer and the recognisers are not test dependencies.)"""

from __future__ import annotations

from engine.likeness.bench import bench_face, bench_photos, layouts


def test_the_portrait_benchmark_finds_the_face_and_counts_a_blinks_shut_frames() -> None:
    photos, _ = bench_photos()
    index, face_d = next((i, p) for i, p in enumerate(photos) if p.name == "test face D")
    result = bench_face(index, face_d, "1:1", layouts()["1:1"], seconds=2.0)

    assert result.frames == 50 and result.detected == 1.0
    assert result.scheduled_per_minute > 0 and result.blinks_per_minute > 0
    # Face D's first blink is shut on frames 36-37, which every-fifth-frame sampling steps
    # over (it saw 0.20 at most): the maximum (about 0.5) must come from those frames, not
    # from the open-eyed ones (0.15).
    assert result.distance_max > result.distance_max_open + 0.1
    assert result.distance_mean < 0.3
    assert result.mouth_correlation > 0.3
