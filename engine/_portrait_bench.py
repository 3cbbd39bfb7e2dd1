"""``tuanyuan bench portraits``: the photo checks' thresholds against faces degraded on purpose.

Good photos: a real portrait shipped inside an installed package when one is there
(matplotlib's sample ``grace_hopper.jpg``, a US Navy photograph in the public domain; matplotlib
comes with the ``xtts`` extra), in the variants a family's phone makes (crops, scales, mirror,
JPEG, a little more or less light, a slight tilt or softness), and the project's drawn faces
(``engine._stand_in``, ``engine.likeness._synthetic``, the demo's grandfather) in five skin
tones on dark and light backdrops. Each base face is then degraded into every problem the
checks promise to catch: blur (Gaussian radius 9 and 4), 15 % brightness, closed eyes,
sunglasses, a mask, strong back-light, a face too small, two people. The report gives every
measure per photo, the false-reject rate on the good ones and the catch rate per problem.
"""

from __future__ import annotations

import importlib.util
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from engine import _quality
from engine._errors import IngestError
from engine._faces import find_faces, subjects
from engine._ingest import check_portrait
from engine._stand_in import stand_in_portrait
from engine.likeness._faces import landmarks_in
from engine.likeness._synthetic import FACES, face_photo

Degrade = Callable[[Image.Image], Image.Image]
_SKINS = ((236, 200, 175), (222, 178, 146), (190, 140, 105), (140, 95, 70), (95, 65, 50))
_LID = (70, 45, 40)


def real_portrait() -> Image.Image | None:
    """The public-domain Grace Hopper portrait matplotlib ships, if matplotlib is installed."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    return Image.open(path).convert("RGB") if path.exists() else None


def _landmarks(image: Image.Image) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    rgb = np.asarray(image.convert("RGB"))
    face = subjects(find_faces(rgb))[0]
    box = (face.x, face.y, face.x + face.width, face.y + face.height)
    return landmarks_in(rgb, box), box


def blur(radius: float) -> Degrade:
    return lambda image: image.filter(ImageFilter.GaussianBlur(radius))


def brightness(factor: float) -> Degrade:
    return lambda image: ImageEnhance.Brightness(image).enhance(factor)


def close_eyes(image: Image.Image) -> Image.Image:
    """Each eye painted over with the skin around it and a lid line drawn along its lower edge."""
    points, (left, _, right, _) = _landmarks(image)
    pixels = np.asarray(image.convert("RGB")).copy()
    mask = np.zeros(pixels.shape[:2], np.uint8)
    for start in (36, 42):
        eye = points[start : start + 6]
        centre = eye.mean(axis=0)
        cv2.fillConvexPoly(mask, (centre + (eye - centre) * (1.25, 2.2)).astype(np.int32), 255)
    pixels = cv2.inpaint(pixels, mask, 7, cv2.INPAINT_TELEA)
    for start in (36, 42):
        lid = points[[start, start + 5, start + 4, start + 3]].astype(np.int32)
        thickness = max(1, (right - left) // 90)
        cv2.polylines(pixels, [lid], False, _LID, thickness, cv2.LINE_AA)
    return Image.fromarray(pixels)


def sunglasses(image: Image.Image) -> Image.Image:
    points, (left, _, right, _) = _landmarks(image)
    pixels = np.asarray(image.convert("RGB")).copy()
    for start in (36, 42):
        eye = points[start : start + 6]
        centre, width = eye.mean(axis=0), float(np.ptp(eye[:, 0]))
        axes = (int(width * 0.95), int(width * 0.7))
        cv2.ellipse(pixels, tuple(int(v) for v in centre), axes, 0, 0, 360, (25, 25, 30), -1)
    bridge = (tuple(int(v) for v in points[39]), tuple(int(v) for v in points[42]))
    cv2.line(pixels, *bridge, (25, 25, 30), max(2, (right - left) // 40))
    return Image.fromarray(pixels)


def mask(image: Image.Image) -> Image.Image:
    """A light-blue surgical mask from the jaw line up to the middle of the nose."""
    points, _ = _landmarks(image)
    pixels = np.asarray(image.convert("RGB")).copy()
    top = points[29, 1]
    outline = np.array([[points[1, 0], top], [points[15, 0], top], *points[15:0:-1]])
    cv2.fillPoly(pixels, [outline.astype(np.int32)], (140, 180, 220), cv2.LINE_AA)
    return Image.fromarray(pixels)


def backlit(image: Image.Image) -> Image.Image:
    """A bright window behind them: the person at 30 % of their light, the rest near white."""
    _, (left, top, right, bottom) = _landmarks(image)
    pixels = np.asarray(image.convert("RGB")).astype(np.float32)
    outline = np.zeros(pixels.shape[:2], np.float32)
    width, height = right - left, bottom - top
    centre = ((left + right) // 2, int(top + 0.55 * height))
    cv2.ellipse(outline, centre, (int(width * 0.75), int(height * 1.1)), 0, 0, 360, 1.0, -1)
    shoulders = (int(left - 0.6 * width), int(top + 1.4 * height))
    cv2.rectangle(outline, shoulders, (pixels.shape[1], pixels.shape[0]), 1.0, -1)
    person = cv2.GaussianBlur(outline, (0, 0), width / 15)[..., None]
    lit = pixels * 0.3 * person + (1 - person) * (235 + pixels * 0.1)
    return Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8))


def far_away(image: Image.Image) -> Image.Image:
    """The same scene from further off: the face about 70 px wide in a 900 px-high photo."""
    _, (left, _, right, _) = _landmarks(image)
    scale = 70 / (right - left)
    small = image.resize((round(image.width * scale), round(image.height * scale)))
    canvas = Image.new("RGB", (max(600, small.width), max(900, small.height)), (140, 150, 160))
    canvas.paste(small, ((canvas.width - small.width) // 2, (canvas.height - small.height) // 3))
    return canvas


def with_companion(image: Image.Image) -> Image.Image:
    """Two people side by side: the photo next to its mirror image."""
    pair = Image.new("RGB", (image.width * 2, image.height))
    pair.paste(image, (0, 0))
    pair.paste(ImageOps.mirror(image), (image.width, 0))
    return pair


PROBLEMS: dict[str, tuple[Degrade, frozenset[str]]] = {
    # each degradation and the refusals that count as caught ("no_face" when a mask or the
    # blur hides the face from the detector altogether: still refused, with the face advice)
    "blur radius 9": (blur(9), frozenset({"blurry", "no_face"})),
    "blur radius 4": (blur(4), frozenset({"blurry", "no_face"})),
    "brightness 15 %": (brightness(0.15), frozenset({"too_dark"})),
    "eyes closed": (close_eyes, frozenset({"eyes_closed"})),
    "sunglasses": (sunglasses, frozenset({"eyes_covered", "eyes_closed"})),
    "mask": (mask, frozenset({"face_covered", "no_face"})),
    "back-light": (backlit, frozenset({"backlit"})),
    "face too small": (far_away, frozenset({"face_too_small", "no_face"})),
    "two people": (with_companion, frozenset({"several_faces"})),
}


def good_photos() -> Iterator[tuple[str, Image.Image]]:
    """Photos a family could send, which the checks must accept."""
    real = real_portrait()
    if real is not None:
        width, height = real.size
        yield "real", real
        yield "real, mirrored", ImageOps.mirror(real)
        yield "real, head crop", real.crop((60, 20, width - 60, height - 180))
        yield "real, wide", ImageOps.expand(real, border=150, fill=(120, 130, 140))
        yield "real, 60 %", real.resize((round(width * 0.6), round(height * 0.6)))
        yield (
            "real, 250 %",
            real.resize((width * 5 // 2, height * 5 // 2), Image.Resampling.BICUBIC),
        )
        yield "real, JPEG quality 30", _jpeg(real, 30)
        yield "real, 60 % light", brightness(0.6)(real)
        yield "real, 130 % light", brightness(1.3)(real)
        yield "real, low contrast", ImageEnhance.Contrast(real).enhance(0.7)
        yield (
            "real, tilted 8 degrees",
            real.rotate(8, Image.Resampling.BICUBIC, fillcolor=(90,) * 3),
        )
        yield "real, slightly soft", blur(0.8)(real)
    for index, skin in enumerate(_SKINS):
        yield f"stand-in, skin {index + 1}", stand_in_portrait(skin=skin, seed=index)
        yield f"stand-in, skin {index + 1}, small", stand_in_portrait((400, 520), skin=skin)
    for face in FACES:
        yield f"drawn {face.name}", face_photo(face)
        for index in (3, 4):
            darker = replace(face, skin=_SKINS[index], backdrop=(235, 235, 230))
            yield f"drawn {face.name}, skin {index + 1}, white wall", face_photo(darker)


def bases() -> Iterator[tuple[str, Image.Image]]:
    """The faces every problem is made from."""
    real = real_portrait()
    if real is not None:
        yield "real", real
    yield "stand-in", stand_in_portrait()
    yield "stand-in, skin 4", stand_in_portrait(skin=_SKINS[3])
    for face in FACES:
        yield f"drawn {face.name}", face_photo(face)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(buffer).convert("RGB")


def verdict(image: Image.Image, folder: Path) -> tuple[str, _quality.PortraitQuality | None]:
    """check_portrait's code for the photo sent as a JPEG ("ok" when accepted), and its measures."""
    path = folder / "photo.jpg"
    image.save(path, format="JPEG", quality=90)
    rgb = np.asarray(Image.open(path).convert("RGB"))
    faces = subjects(find_faces(rgb))
    measures = _quality.measure(rgb, faces[0]) if faces else None
    try:
        check_portrait(path)
    except IngestError as error:
        return error.code, measures
    return "ok", measures


def run(out: TextIO) -> bool:
    """Print the report; True when the checks refuse no good photo and catch every problem."""
    with tempfile.TemporaryDirectory(prefix="tuanyuan-portraits-") as scratch:
        folder = Path(scratch)
        if real_portrait() is None:
            out.write("(matplotlib not installed: drawn faces only)\n")
        out.write(_thresholds())
        out.write("\n| good photo | verdict | measures |\n| --- | --- | --- |\n")
        refused = missed_faces = good = 0
        for name, image in good_photos():
            code, measures = verdict(image, folder)
            good += 1
            missed_faces += code == "no_face"
            refused += code not in ("ok", "no_face")
            out.write(f"| {name} | {code} | {_brief(measures)} |\n")
        out.write(
            f"\nFalse rejects by these checks: {refused} of {good} good photos "
            f"({100 * refused / good:.1f} %); faces the detector did not find at all (no_face, "
            f"not a threshold): {missed_faces}\n"
        )
        out.write("\n| problem | caught | refusals |\n| --- | --- | --- |\n")
        missed = 0
        for problem, (degrade, expected) in PROBLEMS.items():
            codes = []
            for name, base in bases():
                code, measures = verdict(degrade(base), folder)
                codes.append(code if code in expected else f"{name}: {code} ({_brief(measures)})")
            caught = sum(code in expected for code in codes)
            missed += len(codes) - caught
            out.write(f"| {problem} | {caught}/{len(codes)} | {'; '.join(codes)} |\n")
        return refused == 0 and missed == 0


def _thresholds() -> str:
    return (
        f"Thresholds: face >= {_quality.MIN_FACE_PX} px wide; sharpness >= "
        f"{_quality.MIN_SHARPNESS}; face highlight >= {_quality.MIN_HIGHLIGHT}; back-light when "
        f"the face's mean < {_quality.BACKLIT_FACE} and the surroundings' top tenth >= "
        f"{_quality.BACKLIT_BACKGROUND}; eye light >= {_quality.MIN_EYE_LIGHT} of the cheeks'; "
        f"mouth texture >= {_quality.MIN_MOUTH_TEXTURE}; eyes open by the eye cascade\n"
    )


def _brief(measures: _quality.PortraitQuality | None) -> str:
    if measures is None:
        return "no face found"
    return (
        f"{measures.face_px} px, sharp {measures.sharpness}, high {measures.highlight}, "
        f"face {measures.face_light} / around {measures.background_light}, eyes "
        f"{measures.eye_light}, mouth {measures.mouth_texture}, "
        f"{'open' if measures.eyes_open else 'closed'}"
    )
