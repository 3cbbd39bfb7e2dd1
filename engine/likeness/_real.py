"""Real people's speech and photos for ``bench likeness``: what ships inside registry packages.

The code-made test speakers (``_synthetic``) only show that the adaptation undoes differences of
the kind it models. These are human voices. Nothing is downloaded at run time: ``make
bench-deps`` installs pyannote-audio's wheel without its dependencies (only its bundled sample
conversation is read; pyannote itself is never imported) and keeps pocketsphinx's source
archive, whose tests carry LibriVox recordings, under the virtualenv's ``share/``. The real
photos come the same way: Grace Hopper from matplotlib's sample data (installed), and public
domain portraits read straight out of scikit-image's wheel and face_recognition's source
archive, which ``make bench-deps`` keeps there and never installs. A source that is missing is
reported by the benchmark, never skipped silently.

Every speaker's utterances are dealt alternately into enrolment and held-back clips, so the
similarity is always measured on speech the profile never saw.
"""

from __future__ import annotations

import io
import sys
import tarfile
import wave
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from engine._portrait_bench import real_portrait
from engine.likeness import _world

BENCH_DATA = Path(sys.prefix) / "share" / "tuanyuan-bench"
POCKETSPHINX_SDIST = "pocketsphinx-5.1.1.tar.gz"
_LIBRIVOX = "pocketsphinx-5.1.1/test/data/librivox/sense_and_sensibility_01_austen_64kb-{}.wav"
_LIBRIVOX_CLIPS = ("0870", "0880", "0890", "0920", "0930")
_PYANNOTE_SAMPLE = "pyannote/audio/sample/sample"
_MIN_CLIP_S = 0.4  # shorter pieces left after cutting out the other speaker carry no voice
SKIMAGE_WHEELS = "scikit_image-0.26.0-*.whl"  # any build: only its data is read
FACE_RECOGNITION_SDIST = "face_recognition-1.3.0.tar.gz"

Interval = tuple[float, float]


@dataclass(frozen=True)
class RealSpeaker:
    name: str
    source: str  # package, version, file and licence, as the benchmark prints them
    enrolment: tuple[npt.NDArray[np.float32], ...]  # at the WORLD analysis rate
    held_back: tuple[npt.NDArray[np.float32], ...]

    @property
    def enrolment_s(self) -> float:
        return sum(len(clip) for clip in self.enrolment) / _world.RATE

    @property
    def held_back_s(self) -> float:
        return sum(len(clip) for clip in self.held_back) / _world.RATE


def real_speakers() -> tuple[list[RealSpeaker], list[str]]:
    """The speakers whose recordings are installed, and a line for each source that is not."""
    speakers: list[RealSpeaker] = []
    missing: list[str] = []
    try:
        speakers.extend(_pyannote_speakers())
    except (metadata.PackageNotFoundError, FileNotFoundError) as exc:
        missing.append(f"pyannote-audio's sample conversation ({exc}): run `make bench-deps`")
    archive = BENCH_DATA / POCKETSPHINX_SDIST
    if archive.is_file():
        speakers.append(_librivox_speaker(archive))
    else:
        missing.append(f"LibriVox reader: {archive} is missing: run `make bench-deps`")
    return speakers, missing


def deal(clips: Sequence[npt.NDArray[np.float32]]) -> tuple[list[npt.NDArray[np.float32]], ...]:
    """Utterances in order, dealt alternately: even ones enrol, odd ones are held back."""
    return list(clips[0::2]), list(clips[1::2])


def speaker_clips(
    utterances: Sequence[tuple[str, Interval]], turns: Sequence[tuple[str, Interval]], who: str
) -> list[list[Interval]]:
    """Each of ``who``'s utterances as the pieces where nobody else speaks.

    ``utterances`` are transcript lines (speaker, span); ``turns`` are the diarisation's turns,
    which mark overlapping speech the transcript leaves out. Pieces shorter than 0.4 s go.
    """
    others = [span for speaker, span in turns if speaker != who]
    result = []
    for speaker, (start, end) in utterances:
        if speaker != who:
            continue
        pieces = [(start, end)]
        for other_start, other_end in others:
            pieces = [
                part
                for lo, hi in pieces
                for part in ((lo, min(hi, other_start)), (max(lo, other_end), hi))
                if part[1] - part[0] > 0
            ]
        kept = [(lo, hi) for lo, hi in pieces if hi - lo >= _MIN_CLIP_S]
        if kept:
            result.append(kept)
    return result


def _pyannote_speakers() -> list[RealSpeaker]:
    distribution = metadata.distribution("pyannote.audio")
    base = Path(str(distribution.locate_file(_PYANNOTE_SAMPLE)))
    samples, rate = _read_wav(base.with_suffix(".wav").read_bytes())
    utterances = [
        (fields[2], (float(fields[3]), float(fields[4])))
        for fields in (line.split() for line in base.with_suffix(".stm").read_text().splitlines())
        if len(fields) >= 5
    ]
    turns = [
        (fields[7], (float(fields[3]), float(fields[3]) + float(fields[4])))
        for fields in (line.split() for line in base.with_suffix(".rttm").read_text().splitlines())
        if len(fields) >= 8
    ]
    # The two files label speakers differently: each diarisation label takes the transcript
    # name its turns overlap most, and the names are the ones shown.
    names = sorted({speaker for speaker, _ in utterances})
    labels = {
        label: _best_match([span for s, span in turns if s == label], utterances)
        for label, _ in turns
    }
    turns = [(labels[label], span) for label, span in turns]
    speakers = []
    for name in names:
        clips = [
            _world.to_rate(
                np.concatenate([samples[round(lo * rate) : round(hi * rate)] for lo, hi in pieces]),
                rate,
            ).astype(np.float32)
            for pieces in speaker_clips(utterances, turns, name)
        ]
        enrolment, held_back = deal(clips)
        speakers.append(
            RealSpeaker(
                name=f"{name} (woman, US English, telephone)",
                source=f"pyannote-audio {distribution.version} wheel, {_PYANNOTE_SAMPLE}.wav "
                "(package MIT; the recording's own origin is not stated)",
                enrolment=tuple(enrolment),
                held_back=tuple(held_back),
            )
        )
    return speakers


def _best_match(spans: Sequence[Interval], utterances: Sequence[tuple[str, Interval]]) -> str:
    overlap: dict[str, float] = {}
    for speaker, (start, end) in utterances:
        shared = sum(max(0.0, min(end, hi) - max(start, lo)) for lo, hi in spans)
        overlap[speaker] = overlap.get(speaker, 0.0) + shared
    return max(overlap, key=lambda speaker: overlap[speaker])


def _librivox_speaker(archive: Path) -> RealSpeaker:
    clips = []
    with tarfile.open(archive) as tar:
        for clip in _LIBRIVOX_CLIPS:
            member = tar.extractfile(_LIBRIVOX.format(clip))
            if member is None:
                raise FileNotFoundError(_LIBRIVOX.format(clip))
            samples, rate = _read_wav(member.read())
            clips.append(_world.to_rate(samples, rate).astype(np.float32))
    enrolment, held_back = deal(clips)
    return RealSpeaker(
        name="LibriVox reader (man, English)",
        source=f"{POCKETSPHINX_SDIST} (PyPI sdist), test/data/librivox: Sense and Sensibility "
        "ch. 1 (LibriVox, public domain; package BSD-2-Clause)",
        enrolment=tuple(enrolment),
        held_back=tuple(held_back),
    )


def _read_wav(data: bytes) -> tuple[npt.NDArray[np.float32], int]:
    """A mono 16-bit PCM WAV file's samples in -1..1 and its rate: every recording used here."""
    with wave.open(io.BytesIO(data)) as reader:
        if reader.getsampwidth() != 2 or reader.getnchannels() != 1:
            raise ValueError("expected mono 16-bit PCM")
        frames = reader.readframes(reader.getnframes())
        samples = np.frombuffer(frames, "<i2").astype(np.float32) / np.float32(32768)
        return samples, int(reader.getframerate())


@dataclass(frozen=True)
class BenchPhoto:
    """A photo the portrait is measured on: a code-made test face or a real person's photo."""

    name: str
    photo: Image.Image
    source: str  # where it comes from and its licence, as the benchmark prints them


def real_photos() -> tuple[list[BenchPhoto], list[str]]:
    """Real portraits that ship inside packages, and a line for each source that is missing.

    Chosen for what the talking mouth must cope with: an elderly face behind glasses with a
    closed smile (Grace Hopper), and two smiles that show the upper teeth. All three are US
    government photographs, public domain.
    """
    photos: list[BenchPhoto] = []
    missing: list[str] = []
    hopper = real_portrait()
    if hopper is not None:
        photos.append(BenchPhoto("Grace Hopper", hopper, _HOPPER))
    else:
        missing.append("Grace Hopper: matplotlib's sample data is not installed")
    wheels = sorted(BENCH_DATA.glob(SKIMAGE_WHEELS))
    if wheels:
        with zipfile.ZipFile(wheels[0]) as archive:
            astronaut = _rgb(archive.read("skimage/data/astronaut.png"))
        photos.append(BenchPhoto("Eileen Collins", astronaut, _COLLINS))
    else:
        missing.append(f"Eileen Collins: no {BENCH_DATA / SKIMAGE_WHEELS}: run `make bench-deps`")
    sdist = BENCH_DATA / FACE_RECOGNITION_SDIST
    if sdist.is_file():
        with tarfile.open(sdist) as tar:
            member = tar.extractfile(_OBAMA)
            if member is None:
                raise FileNotFoundError(_OBAMA)
            photos.append(BenchPhoto("Barack Obama", _rgb(member.read()), _OBAMA_SOURCE))
    else:
        missing.append(f"Barack Obama: {sdist} is missing: run `make bench-deps`")
    return photos, missing


def _rgb(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        converted: Image.Image = image.convert("RGB")
        return converted


_HOPPER = (
    "matplotlib's sample data (grace_hopper.jpg, installed with coqui-tts): US Navy portrait, "
    "public domain; elderly woman, glasses, closed-mouth smile"
)
_COLLINS = (
    "scikit-image 0.26.0 (PyPI wheel), skimage/data/astronaut.png: NASA portrait of Eileen "
    "Collins, public domain (package BSD-3-Clause); smiling, upper teeth showing"
)
_OBAMA = "face_recognition-1.3.0/tests/test_images/obama.jpg"
_OBAMA_SOURCE = (
    f"{FACE_RECOGNITION_SDIST} (PyPI sdist), tests/test_images/obama.jpg: the 2012 official "
    "White House portrait (Pete Souza), a US government work, public domain (package MIT; the "
    "package does not state the photo's origin); broad smile, teeth showing"
)
