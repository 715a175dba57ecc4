"""A photo's metadata, carried from the input file to the stylized output: EXIF, the ICC profile, PNG text.

    image, metadata = open_image("photo.jpg")       # data/images.py reads both
    write_image("out.jpg", array, metadata=metadata) # written where the output format can hold them

Photographers expect the capture data (camera, lens, date, GPS) and the colour profile to survive an edit. The
profile matters for the look: the network maps pixel values to pixel values, so the output's numbers mean
colours in the input's colour space, and only the input's profile displays them as intended. Read before the
pixels are made upright: the EXIF orientation is applied to the pixels, so the output's tag says 1, "normal".
`brushwork stylize --strip-metadata` writes none of it (for sharing online: GPS and serial numbers go too).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from PIL import Image, PngImagePlugin

ORIENTATION = 0x0112
EXIF_IFD = 0x8769
PIXEL_X_DIMENSION, PIXEL_Y_DIMENSION = 0xA002, 0xA003
# Tags that describe how the input file stored its pixels (a TIFF's IFD0 is its EXIF): width, height, bits,
# compression, photometric, strips, samples, planar config, predictor, tiles, sample format. Copied into the
# output they would describe pixels that are not there.
STRUCTURE_TAGS = (256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 338, 339, 530, 532)
XMP_KEY = "XML:com.adobe.xmp"  # PNG text chunk that holds XMP, which has an orientation of its own
XMP_ORIENTATION = re.compile(r'(tiff:Orientation(?:="|>))[1-8]')
# What each output format can hold, as Image.save keywords (GIF and BMP hold none of it).
HOLDS = {"JPEG": ("exif", "icc_profile"), "PNG": ("exif", "icc_profile", "text"), "WEBP": ("exif", "icc_profile"),
         "TIFF": ("exif", "icc_profile"), "AVIF": ("exif", "icc_profile"), "HEIF": ("exif", "icc_profile")}


@dataclass
class Metadata:
    """What is carried over. `exif` has its orientation already reset; `icc_profile` is an RGB profile."""

    exif: Image.Exif | None = None
    icc_profile: bytes | None = None
    text: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.exif or self.icc_profile or self.text)

    def save_options(self, fmt: str, size: tuple[int, int]) -> dict:
        """Image.save keywords for a `size` (width, height) picture in Pillow format `fmt`."""
        holds = HOLDS.get(fmt, ())
        options = {}
        if self.exif and "exif" in holds:
            options["exif"] = self._exif_bytes(size)
        if self.icc_profile and "icc_profile" in holds:
            options["icc_profile"] = self.icc_profile
        if self.text and "text" in holds:
            info = PngImagePlugin.PngInfo()
            for key, value in self.text.items():
                info.add_text(key, value)  # falls back to an iTXt chunk for text that is not Latin-1
            options["pnginfo"] = info
        return options

    def _exif_bytes(self, size: tuple[int, int]) -> bytes:
        exif = Image.Exif()
        exif.load(self.exif.tobytes())  # a copy: the same metadata may be written at several sizes
        sub = exif.get_ifd(EXIF_IFD)
        if PIXEL_X_DIMENSION in sub or PIXEL_Y_DIMENSION in sub:  # --max-side changed the size
            sub[PIXEL_X_DIMENSION], sub[PIXEL_Y_DIMENSION] = size
        return exif.tobytes()


def read_metadata(image: Image.Image) -> Metadata:
    """The metadata of an opened image, before its orientation is applied to the pixels."""
    return Metadata(exif=_exif(image), icc_profile=_rgb_profile(image.info.get("icc_profile")),
                    text=_text(image))


def _exif(image: Image.Image) -> Image.Exif | None:
    exif = Image.Exif()
    try:
        exif.load(image.getexif().tobytes())  # a copy: the image's own still holds the orientation to apply
    except (SyntaxError, ValueError, TypeError, KeyError, OSError, struct.error):
        return None  # a damaged EXIF block (a buggy camera or editor) is dropped: the picture itself is fine
    for tag in STRUCTURE_TAGS:
        exif.pop(tag, None)
    if not len(exif) and not exif.get_ifd(EXIF_IFD):
        return None
    if ORIENTATION in exif:
        exif[ORIENTATION] = 1  # the pixels are turned upright on reading
    return exif


def _rgb_profile(profile: bytes | None) -> bytes | None:
    """Keep an RGB profile only: the output is RGB, so a CMYK or grey profile would describe other numbers."""
    if profile and len(profile) >= 20 and profile[16:20] == b"RGB ":  # the ICC header's colour space field
        return profile
    return None


def _text(image: Image.Image) -> dict[str, str]:
    """PNG tEXt/zTXt/iTXt chunks (empty for other formats), with an XMP orientation reset like the EXIF one."""
    text = dict(getattr(image, "text", None) or {}) if image.format == "PNG" else {}
    if isinstance(text.get(XMP_KEY), str):
        text[XMP_KEY] = XMP_ORIENTATION.sub(r"\g<1>1", text[XMP_KEY])
    return {str(k): str(v) for k, v in text.items()}
