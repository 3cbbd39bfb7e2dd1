"""Test subjects made by the project: voices and faces of nobody, generated on the spot.

There are no recordings or photos of real people here, and nothing may be downloaded. A test
speaker is an espeak-ng voice variant (a different formant synthesiser setting from the default
voice the backend adapts) resynthesised through WORLD with its own pitch, vocal-tract length,
spectral tilt and breathiness. A test face is painted from dlib's own mean landmark layout with
soft shading, which is what dlib's HOG detector and 68-point predictor respond to.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from engine._models import SpokenLanguage
from engine.likeness import _world
from engine.likeness._voice import espeak_samples


@dataclass(frozen=True)
class TestSpeaker:
    __test__ = False  # a benchmark subject, not a pytest test class

    name: str
    language: SpokenLanguage
    espeak_voice: str  # base voice plus a variant, never the default voice the backend adapts
    median_f0_hz: float
    f0_range: float  # multiplies the spread of log F0 around its mean
    vocal_tract: float  # formant scale, as in the warp: > 1 is a shorter vocal tract
    tilt_db_per_octave: float
    breathiness: float  # 0..1, raises the aperiodicity of voiced frames


SPEAKERS: tuple[TestSpeaker, ...] = (
    TestSpeaker("older man, English", "en", "en+m3", 105.0, 0.8, 0.92, -2.0, 0.1),
    TestSpeaker("woman, Mandarin", "zh-Hans", "cmn+f2", 215.0, 1.2, 1.15, 1.0, 0.2),
    TestSpeaker("grandmother, Cantonese", "yue", "yue+f4", 185.0, 0.9, 1.1, -3.0, 0.4),
    TestSpeaker("young man, Mandarin", "zh-Hant", "cmn+klatt", 128.0, 1.1, 1.02, 0.0, 0.0),
    TestSpeaker("child, English", "en", "en+f5", 285.0, 1.3, 1.25, 2.0, 0.1),
    TestSpeaker("deep male, Cantonese", "yue", "yue+m1", 95.0, 0.7, 0.88, -1.0, 0.2),
)

SAMPLE_TEXTS: dict[SpokenLanguage, tuple[str, ...]] = {
    "en": (
        "Hello my dear, it is me again, I just wanted to hear your voice today.",
        "Remember to wear a warm coat, the weather is turning cold this week.",
        "We had dumplings for dinner and everybody asked about you.",
        "I am so proud of you, and I think of you every single day.",
        "Call me when you arrive, and do not stay up too late.",
        "The garden is full of flowers now, you would love to see it.",
    ),
    "zh-Hans": (
        "喂，是我啊，今天天气很好，我想听听你的声音。",
        "天冷了，记得多穿一件衣服，别着凉了。",
        "我们今天包了饺子，大家都问起你呢。",
        "我真为你骄傲，每天都在想你。",
        "到了就给我打电话，不要睡得太晚。",
        "院子里的花都开了，你一定会喜欢的。",
    ),
    "zh-Hant": (
        "喂，是我啊，今天天氣很好，我想聽聽你的聲音。",
        "天冷了，記得多穿一件衣服，別著涼了。",
        "我們今天包了餃子，大家都問起你呢。",
        "我真為你驕傲，每天都在想你。",
        "到了就給我打電話，不要睡得太晚。",
        "院子裡的花都開了，你一定會喜歡的。",
    ),
    "yue": (
        "喂，係我呀，今日天氣好好，我想聽吓你把聲。",
        "天氣凍咗，記得著多件衫，唔好凍親。",
        "我哋今日包咗餃子，大家都問起你。",
        "我真係好為你驕傲，日日都掛住你。",
        "到咗就打電話俾我，唔好咁夜瞓。",
        "花園啲花全部開晒，你一定會鍾意。",
    ),
}
ENROLMENT_SAMPLES = 3  # the first three texts build the profile, the rest are held back


@cache
def speaker_sample(speaker: TestSpeaker, index: int) -> npt.NDArray[np.float32]:
    """The speaker reading sample text ``index``, at the WORLD analysis rate."""
    text = SAMPLE_TEXTS[speaker.language][index]
    analysis = _world.analyse(espeak_samples(text, speaker.espeak_voice))
    voiced = analysis.voiced
    log_f0 = np.log(analysis.f0[voiced])
    centre = float(np.median(log_f0))
    f0 = analysis.f0.copy()
    f0[voiced] = np.exp((log_f0 - centre) * speaker.f0_range + np.log(speaker.median_f0_hz))
    octaves = np.log2(
        np.maximum(np.arange(_world.BINS) * _world.RATE / _world.FFT_SIZE, 100) / 1000
    )
    envelope = _world.warp(analysis.envelope, speaker.vocal_tract)
    envelope = envelope * 10 ** (speaker.tilt_db_per_octave * octaves / 10)
    aperiodicity = analysis.aperiodicity.copy()
    aperiodicity[voiced] = aperiodicity[voiced] ** (1.0 - 0.6 * speaker.breathiness)
    samples = _world.synthesise(
        replace(analysis, f0=f0, envelope=envelope, aperiodicity=aperiodicity)
    )
    return (samples * (0.3 / max(float(np.max(np.abs(samples))), 1e-9))).astype(np.float32)


@dataclass(frozen=True)
class TestFace:
    """Colours and proportions; the geometry factors are 1.0 for dlib's mean face."""

    name: str
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    clothes: tuple[int, int, int]
    backdrop: tuple[int, int, int]
    long_hair: bool
    face_width: float = 0.45  # of the picture's width
    jaw: float = 1.0  # width of the lower face
    chin: float = 1.0  # length of the face below the nose
    eye_spacing: float = 1.0
    eye_size: float = 1.0
    nose_length: float = 1.0
    nose_width: float = 1.0
    mouth_width: float = 1.0
    lips: float = 1.0  # lip thickness
    brow_weight: float = 1.0
    brow_raise: float = 0.0  # in face widths, up is positive


FACES: tuple[TestFace, ...] = (
    TestFace("A", (222, 180, 150), (40, 30, 25), (60, 70, 110), (120, 135, 150), False),
    TestFace("B", (196, 150, 118), (20, 18, 18), (140, 40, 40), (170, 150, 120), True,
             face_width=0.4, jaw=0.85, chin=0.9, eye_spacing=1.1, eye_size=1.25, nose_length=0.85,
             nose_width=0.85, mouth_width=0.85, lips=1.4, brow_weight=0.7, brow_raise=0.02),
    TestFace("C", (235, 200, 175), (200, 200, 205), (70, 90, 60), (110, 120, 100), False,
             face_width=0.4, jaw=0.95, chin=1.15, eye_spacing=0.88, eye_size=0.8,
             nose_length=1.2, nose_width=1.1, mouth_width=1.15, lips=0.6, brow_weight=1.4,
             brow_raise=-0.02),
    TestFace("D", (170, 120, 90), (30, 22, 20), (200, 180, 150), (90, 100, 130), False,
             face_width=0.48, jaw=1.2, chin=0.85, eye_spacing=1.02, eye_size=0.95, nose_length=0.95,
             nose_width=1.35, mouth_width=1.2, lips=1.2, brow_weight=1.6, brow_raise=0.0),
)  # fmt: skip

# dlib's 68-point predictor run on a blank image with a unit box: its mean face layout, i.e.
# where in a detection box it expects each landmark (x symmetrised about the centre line).
_MEAN_SHAPE = np.array([
    [0.075, 0.36], [0.075, 0.475], [0.09, 0.59], [0.12, 0.705], [0.165, 0.815], [0.23, 0.915],
    [0.31, 1.0], [0.4, 1.06], [0.51, 1.075], [0.615, 1.06], [0.71, 0.995], [0.785, 0.905],
    [0.855, 0.805], [0.895, 0.695], [0.92, 0.575], [0.925, 0.46], [0.925, 0.345], [0.165, 0.245],
    [0.225, 0.205], [0.295, 0.2], [0.37, 0.215], [0.435, 0.245], [0.54, 0.245], [0.605, 0.21],
    [0.675, 0.195], [0.75, 0.2], [0.815, 0.23], [0.49, 0.315], [0.49, 0.395], [0.49, 0.47],
    [0.49, 0.55], [0.4, 0.605], [0.445, 0.62], [0.495, 0.635], [0.545, 0.62], [0.59, 0.605],
    [0.235, 0.325], [0.285, 0.3], [0.335, 0.295], [0.385, 0.325], [0.335, 0.335], [0.285, 0.34],
    [0.595, 0.32], [0.645, 0.29], [0.7, 0.295], [0.745, 0.32], [0.7, 0.335], [0.65, 0.335],
    [0.325, 0.77], [0.385, 0.74], [0.45, 0.73], [0.495, 0.735], [0.54, 0.725], [0.61, 0.735],
    [0.675, 0.765], [0.625, 0.83], [0.55, 0.86], [0.5, 0.865], [0.45, 0.86], [0.38, 0.83],
    [0.35, 0.77], [0.45, 0.765], [0.495, 0.765], [0.54, 0.76], [0.65, 0.77], [0.545, 0.795],
    [0.5, 0.805], [0.45, 0.8],
])  # fmt: skip
_MEAN_SHAPE[:, 0] -= _MEAN_SHAPE[:, 0].mean() - 0.5

_JAW = range(17)
_BROWS = (range(17, 22), range(22, 27))
_EYES = (range(36, 42), range(42, 48))
_OUTER_LIPS = range(48, 60)
_LIP_LINE = range(60, 65)


def face_photo(face: TestFace, size: tuple[int, int] = (600, 800), seed: int = 0) -> Image.Image:
    """A frontal head-and-shoulders portrait, softly shaded like a photo rather than a drawing."""
    width, height = size
    unit = face.face_width * width
    origin = np.array([width / 2 - unit / 2, height * 0.3])
    points = origin + _face_shape(face) * unit
    canvas = _Canvas(size, face.backdrop)
    centre_x = width / 2
    top = origin[1]
    skin = np.array(face.skin, np.float64)

    canvas.ellipse(
        (centre_x - 1.1 * unit, top + 1.35 * unit, centre_x + 1.1 * unit, top + 2.6 * unit),
        face.clothes,
        blur=4,
    )
    canvas.polygon(
        [
            (centre_x - 0.28 * unit, top + 0.8 * unit),
            (centre_x + 0.28 * unit, top + 0.8 * unit),
            (centre_x + 0.28 * unit, height),
            (centre_x - 0.28 * unit, height),
        ],
        skin * 0.85,
        blur=3,
    )
    hair_bottom = 1.6 if face.long_hair else 0.95
    canvas.ellipse(
        (
            centre_x - 0.62 * unit,
            top - 0.45 * unit,
            centre_x + 0.62 * unit,
            top + hair_bottom * unit,
        ),
        face.hair,
        blur=6,
    )
    head = [tuple(p) for p in points[list(_JAW)]] + [
        (origin[0] + 0.93 * unit, top + 0.2 * unit),
        (centre_x + 0.3 * unit, top - 0.08 * unit),
        (centre_x, top - 0.12 * unit),
        (centre_x - 0.3 * unit, top - 0.08 * unit),
        (origin[0] + 0.07 * unit, top + 0.2 * unit),
    ]
    canvas.shaded_polygon(head, skin, rounding=0.12 * unit)
    canvas.pieslice(
        (centre_x - 0.55 * unit, top - 0.4 * unit, centre_x + 0.55 * unit, top + 0.42 * unit),
        face.hair,
        blur=4,
    )
    for eye in _EYES:
        cx, cy = points[list(eye)].mean(axis=0)
        socket = (cx - 0.1 * unit, cy - 0.07 * unit, cx + 0.1 * unit, cy + 0.06 * unit)
        canvas.ellipse(socket, skin * 0.6, blur=0.04 * unit, opacity=0.43)
    for brow in _BROWS:
        canvas.line(
            [tuple(p) for p in points[list(brow)]],
            np.array(face.hair) * 0.8 + 10,
            width=0.035 * unit * face.brow_weight,
            blur=1.5,
        )
    for eye in _EYES:
        canvas.eye(points[list(eye)], unit)
    bridge, tip, base = points[27], points[30], points[33]
    for side, wing in ((-1, points[31]), (1, points[35])):
        offset = np.array([side * 0.04 * unit, 0.0])
        canvas.line(
            [tuple(bridge + offset), tuple(tip + 1.25 * offset), tuple(wing)],
            skin * 0.62,
            width=0.025 * unit,
            blur=0.02 * unit,
            opacity=0.55,
        )
    half = 0.045 * unit * face.nose_width
    canvas.ellipse(
        (tip[0] - half, tip[1] - 0.02 * unit, tip[0] + half, base[1] - 0.03 * unit),
        np.minimum(skin * 1.12, 255),
        blur=0.015 * unit,
        opacity=0.47,
    )
    for wing in (points[31], points[35]):
        nostril = 0.45 * wing + 0.55 * base
        canvas.ellipse(
            (nostril[0] - 0.022 * unit, base[1] - 0.025 * unit, nostril[0] + 0.022 * unit,
             base[1] + 0.005 * unit),
            (90, 50, 45),
            blur=1.5,
        )  # fmt: skip
    canvas.polygon(
        [tuple(p) for p in points[list(_OUTER_LIPS)]], skin * np.array([0.82, 0.5, 0.6]), blur=1.2
    )
    canvas.line(
        [tuple(p) for p in points[list(_LIP_LINE)]], (90, 35, 40), width=0.012 * unit, blur=0.8
    )
    return canvas.image(np.random.default_rng(seed))


def _face_shape(face: TestFace) -> npt.NDArray[np.float64]:
    """dlib's mean layout, reshaped feature by feature: what makes the test faces different."""
    shape = _MEAN_SHAPE.copy()
    nose_base = shape[33, 1]
    lower = shape[:, 1] > nose_base
    shape[lower, 1] = nose_base + (shape[lower, 1] - nose_base) * face.chin
    shape[:, 0] = 0.5 + (shape[:, 0] - 0.5) * np.where(shape[:, 1] > 0.6, face.jaw, 1.0)
    nose = list(range(27, 36))
    shape[nose, 1] = shape[27, 1] + (shape[nose, 1] - shape[27, 1]) * face.nose_length
    shape[31:36, 0] = 0.5 + (shape[31:36, 0] - 0.5) * face.nose_width
    for eye in _EYES:
        index = list(eye)
        centre = shape[index].mean(axis=0)
        shape[index] = centre + (shape[index] - centre) * face.eye_size
        shape[index, 0] += (centre[0] - 0.5) * (face.eye_spacing - 1.0)
    for brow in _BROWS:
        shape[list(brow), 1] -= face.brow_raise
    lips = list(range(48, 68))
    line = shape[62, 1]
    shape[lips, 0] = 0.5 + (shape[lips, 0] - 0.5) * face.mouth_width
    shape[lips, 1] = line + (shape[lips, 1] - line) * face.lips
    return shape


class _Canvas:
    """Soft-edged painting in float RGB: every shape is a blurred mask blended over the image."""

    def __init__(self, size: tuple[int, int], backdrop: tuple[int, int, int]) -> None:
        self._size = size
        ramp = np.linspace(0.0, 40.0, size[1])[:, None, None]
        self._pixels = np.broadcast_to(np.array(backdrop, np.float64), (size[1], size[0], 3)) + ramp

    def _blend(
        self, mask: Image.Image, colour: npt.ArrayLike, blur: float, opacity: float = 1.0
    ) -> None:
        if blur:
            mask = mask.filter(ImageFilter.GaussianBlur(blur))
        alpha = np.asarray(mask, np.float64)[..., None] / 255.0 * opacity
        self._pixels = self._pixels * (1 - alpha) + np.asarray(colour, np.float64) * alpha

    def _mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        mask = Image.new("L", self._size, 0)
        return mask, ImageDraw.Draw(mask)

    def ellipse(self, box: tuple[float, ...], colour: npt.ArrayLike, blur: float,
                opacity: float = 1.0) -> None:  # fmt: skip
        mask, draw = self._mask()
        draw.ellipse(box, fill=255)
        self._blend(mask, colour, blur, opacity)

    def pieslice(self, box: tuple[float, ...], colour: npt.ArrayLike, blur: float) -> None:
        mask, draw = self._mask()
        draw.pieslice(box, 180, 360, fill=255)
        self._blend(mask, colour, blur)

    def polygon(
        self, points: list[tuple[float, float]], colour: npt.ArrayLike, blur: float
    ) -> None:
        mask, draw = self._mask()
        draw.polygon(points, fill=255)
        self._blend(mask, colour, blur)

    def line(self, points: list[tuple[float, float]], colour: npt.ArrayLike, width: float,
             blur: float, opacity: float = 1.0) -> None:  # fmt: skip
        mask, draw = self._mask()
        draw.line(points, fill=255, width=max(2, round(width)), joint="curve")
        self._blend(mask, colour, blur, opacity)

    def shaded_polygon(self, points: list[tuple[float, float]], colour: npt.NDArray[np.float64],
                       rounding: float) -> None:  # fmt: skip
        """Skin darkening toward its outline, as a rounded form lit from the front looks."""
        mask, draw = self._mask()
        draw.polygon(points, fill=255)
        edge = np.asarray(mask.filter(ImageFilter.GaussianBlur(2)), np.float64)[..., None] / 255
        depth = np.asarray(mask.filter(ImageFilter.GaussianBlur(rounding)), np.float64) / 255
        shade = colour * (0.62 + 0.38 * np.clip(depth, 0, 1) ** 0.7)[..., None]
        self._pixels = self._pixels * (1 - edge) + shade * edge

    def eye(self, outline: npt.NDArray[np.float64], unit: float) -> None:
        centre = outline.mean(axis=0)
        opening = centre + (outline - centre) * [1.0, 1.6]
        sclera, draw = self._mask()
        draw.polygon([tuple(p) for p in opening], fill=255)
        self._blend(sclera, (235, 232, 228), 0.8)
        inside = np.asarray(sclera, np.float64) / 255
        for radius, colour in ((0.032, (70, 45, 30)), (0.014, (10, 8, 8))):
            disc, draw = self._mask()
            r = radius * unit
            draw.ellipse((centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r), fill=255)
            clipped = Image.fromarray((np.asarray(disc, np.float64) * inside).astype(np.uint8))
            self._blend(clipped, colour, 0.6)
        self.line([tuple(p) for p in opening[:4]], (30, 20, 20), width=0.012 * unit, blur=0.8)

    def image(self, rng: np.random.Generator) -> Image.Image:
        grain = rng.normal(0.0, 2.0, self._pixels.shape)  # sensor-like noise, as in a photo
        return Image.fromarray(np.clip(self._pixels + grain, 0, 255).astype(np.uint8))
