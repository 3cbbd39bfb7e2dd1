"""Sample footage for the offline demo, made here so it carries nobody's likeness or rights.

The portrait is drawn with Pillow; the voice note is the embedded default voice reading a few
sentences, encoded as Telegram encodes voice notes (Opus in Ogg).
"""

import io
import math
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
from PIL import Image, ImageDraw, ImageFilter

from engine import Language, plain_speech, write_wav

SAMPLE_VOICE_TEXT = (
    "大家好，我是外公。今天天氣很好，我在院子裡種了一些花。"
    "你們要好好照顧自己，記得多喝水，早點休息。我很想念你們。"
)

# Points round the portrait's eye from its inner corner, along the upper lid first (x from the
# eye's centre, outward positive; y in the portrait).
_EYE_OUTLINE = ((-28, 411), (-14, 400), (6, 397), (22, 402), (28, 411), (14, 419), (-6, 421),
                (-20, 418))  # fmt: skip
# The smiling mouth's line: the lower half of an ellipse round (0, 540) in the portrait, these
# radii, from and to these angles (degrees clockwise from the right, as Pillow's arcs).
_SMILE_RADII = (70, 40)
_SMILE_CENTRE_Y = 540
_SMILE_FROM, _SMILE_TO = 15, 165
# The lips' thickness above and below that line at its middle, tapering to the corners.
_UPPER_LIP, _LOWER_LIP = 9, 16


def sample_portrait_jpeg(width: int = 768, height: int = 960) -> bytes:
    """A drawn head-and-shoulders portrait of a smiling grandfather.

    Drawn so that dlib, trained on photographs, finds his eyes and mouth where they are:
    almond-shaped eyes with an upper lid, no glasses (around drawn rims it put his lower lids on
    the rims at some sizes, and each blink smeared the eye or bent the glasses), and lips."""
    image = Image.new("RGB", (width, height), (214, 196, 170))
    draw = ImageDraw.Draw(image)
    for y in range(height):  # a soft studio backdrop, lighter towards the top
        shade = int(40 * y / height)
        draw.line([(0, y), (width, y)], fill=(226 - shade, 210 - shade, 186 - shade))
    cx = width // 2
    draw.ellipse([cx - 330, 700, cx + 330, 1300], fill=(58, 74, 104))  # shoulders, jacket
    draw.polygon([(cx - 70, 700), (cx + 70, 700), (cx, 820)], fill=(236, 232, 224))  # collar
    draw.rectangle([cx - 55, 560, cx + 55, 720], fill=(222, 180, 146))  # neck
    draw.ellipse([cx - 205, 170, cx + 205, 640], fill=(150, 150, 150))  # grey hair
    draw.ellipse([cx - 180, 220, cx + 180, 660], fill=(232, 190, 156))  # face
    draw.ellipse([cx - 205, 380, cx - 165, 470], fill=(222, 178, 142))  # ears
    draw.ellipse([cx + 165, 380, cx + 205, 470], fill=(222, 178, 142))
    for side in (-1, 1):
        ex = cx + side * 75
        eye = [(ex + side * dx, y) for dx, y in _EYE_OUTLINE]
        draw.polygon(eye, fill=(250, 250, 250))  # eye white
        draw.ellipse([ex - 11, 399, ex + 11, 421], fill=(60, 40, 30))  # iris
        draw.line(eye[:5], fill=(90, 60, 45), width=3, joint="curve")  # upper lid
        draw.arc([ex - 40, 350, ex + 40, 380], 200, 340, fill=(120, 120, 120), width=8)  # brow
    draw.line([(cx, 430), (cx - 14, 500), (cx + 6, 506)], fill=(196, 150, 120), width=5)  # nose
    _draw_lips(draw, cx)
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    encoded = io.BytesIO()
    image.save(encoded, format="JPEG", quality=90)
    return encoded.getvalue()


def _draw_lips(draw: ImageDraw.ImageDraw, cx: int) -> None:
    """Lips along the smile, not the smile's line alone: with no lips to go by, dlib guessed his
    mouth from the shape of his face, at one framing a chin's depth below the line, and the
    upright greeting opened a second mouth on his chin."""
    (rx, ry), y0 = _SMILE_RADII, _SMILE_CENTRE_Y
    corner = math.sin(math.radians(_SMILE_FROM))
    line, upper, lower = [], [], []
    for step in range(41):
        angle = math.radians(_SMILE_FROM + (_SMILE_TO - _SMILE_FROM) * step / 40)
        x, y = cx + rx * math.cos(angle), y0 + ry * math.sin(angle)
        taper = ((math.sin(angle) - corner) / (1 - corner)) ** 0.6
        line.append((x, y))
        upper.append((x, y - _UPPER_LIP * taper))
        lower.append((x, y + _LOWER_LIP * taper))
    draw.polygon(upper + line[::-1], fill=(186, 104, 96))
    draw.polygon(line + lower[::-1], fill=(198, 116, 108))
    draw.line(line, fill=(120, 56, 50), width=4, joint="curve")


def encode_voice_note(wav: Path, destination: Path) -> Path:
    """Encode as Telegram encodes voice notes: Opus in an Ogg container."""
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-nostdin", "-y", "-i", str(wav),
         "-c:a", "libopus", "-b:a", "32k", str(destination)],
        check=True,
    )  # fmt: skip
    return destination


def sample_voice_ogg(text: str = SAMPLE_VOICE_TEXT, language: Language = "zh-Hant") -> bytes:
    """A voice note of the default voice reading ``text``, as Ogg/Opus bytes."""
    samples, rate = plain_speech(text, language)
    with tempfile.TemporaryDirectory() as scratch:
        wav = write_wav(Path(scratch) / "voice.wav", samples, rate)
        return encode_voice_note(wav, Path(scratch) / "voice.ogg").read_bytes()
