"""Read, resize and write images with Pillow and numpy only (no torch: the runtime uses this too).

Images are uint8 arrays (H, W, 3) RGB. Reading applies the EXIF orientation and converts any mode
(grayscale, palette, CMYK, RGBA, 16-bit) to RGB; writing is atomic (temp file + rename), so a crash never
leaves a half-written file under the output name. `open_image` also returns the photo's metadata, which
`write_image(..., metadata=)` writes back (data/metadata.py). GIF reads its first frame here (animations are
infer/media/pictures.py); AVIF is Pillow's own; HEIC/HEIF needs the pillow-heif package (`brushwork[heic]`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .. import BrushworkError
from .files import atomic_write
from .metadata import Metadata, read_metadata

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".avif", ".heic", ".heif")
HEIF_SUFFIXES = (".heic", ".heif")
# Pillow format names where they differ from the suffix.
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".heic": "HEIF", ".heif": "HEIF"}
QUALITY_FORMATS = ("JPEG", "WEBP", "AVIF", "HEIF")  # lossy: a `quality` setting applies


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB. Transparent pixels are composited on white, 16-bit is scaled down."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(a / (256.0 if a.max() > 255 else 1.0), 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def open_rgb(path: str | os.PathLike) -> Image.Image:
    """Open an image file as an upright RGB Pillow image; BrushworkError if it is not a readable image."""
    return open_image(path)[0]


def open_image(path: str | os.PathLike) -> tuple[Image.Image, Metadata]:
    """An image file as an upright RGB Pillow image and its metadata; BrushworkError if it is not readable."""
    path = Path(path)
    if not path.is_file():
        raise BrushworkError(f"{path}: no such file")
    enable_codec(path)
    try:
        with Image.open(path) as im:
            im.load()  # read now: a truncated file fails here, not later
            metadata = read_metadata(im)
            return to_rgb(ImageOps.exif_transpose(im)), metadata
    except (UnidentifiedImageError, OSError, ValueError, EOFError, Image.DecompressionBombError) as e:
        if isinstance(e, UnidentifiedImageError) and _starts_with(path, b"GIF8"):
            raise BrushworkError(f"{path}: a GIF with no readable frame (empty, or damaged after its header); "
                                 "re-export or re-download it") from None
        raise BrushworkError(f"{path}: not a readable image ({e}); give a JPEG, PNG, WebP, AVIF, GIF, BMP or TIFF "
                             "file") from None


def _starts_with(path: Path, magic: bytes) -> bool:
    with open(path, "rb") as f:
        return f.read(len(magic)) == magic


def enable_codec(path: Path) -> None:
    """Make sure Pillow can read and write this file type: HEIC/HEIF (iPhone photos) through pillow-heif, AVIF
    through Pillow's own codec (recent Pillow wheels have it); else say what to install."""
    suffix = path.suffix.lower()
    if suffix == ".avif":
        from PIL import features

        if not features.check("avif"):
            raise BrushworkError(f"{path}: this Pillow has no AVIF codec; pip install -U pillow (or convert the "
                                 "picture to JPEG or PNG)")
    if suffix not in HEIF_SUFFIXES:
        return
    try:
        import pillow_heif
    except ImportError:
        raise BrushworkError(f"{path}: HEIC/HEIF needs the pillow-heif package: pip install pillow-heif "
                             "(or convert the photo to JPEG)") from None
    pillow_heif.register_heif_opener()


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as a uint8 (H, W, 3) RGB array."""
    return np.asarray(open_rgb(path), dtype=np.uint8).copy()


def resize_to_side(image: Image.Image, side: int | None, *, longest: bool = True) -> Image.Image:
    """Resize keeping the aspect ratio so the longest (or shortest) side is `side`; None keeps the size."""
    if side is None:
        return image
    w, h = image.size
    ref = max(w, h) if longest else min(w, h)
    if ref == side:
        return image
    scale = side / ref
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def write_image(path: str | os.PathLike, array: np.ndarray, *, quality: int = 95,
                metadata: Metadata | None = None) -> None:
    """Write a uint8 (H, W, 3) array atomically (temp file in the same folder, fsync, rename), with the
    `metadata` the format can hold."""
    path = Path(path)
    fmt = image_format(path)
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    options = {"quality": quality} if fmt in QUALITY_FORMATS else {}
    if metadata:
        options.update(metadata.save_options(fmt, image.size))
    atomic_write(path, lambda f: image.save(f, format=fmt, **options))


def image_format(path: Path) -> str:
    """The Pillow format for an output file name; BrushworkError for a suffix that is not an image type."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise BrushworkError(f"{path}: unknown image type {suffix!r}; use one of {', '.join(IMAGE_SUFFIXES)}")
    enable_codec(path)
    return FORMATS.get(suffix, suffix[1:].upper())


def refuse_existing(paths, flag: str) -> None:
    """BrushworkError naming the first of `paths` that exists: outputs are replaced only with --overwrite."""
    existing = [p for p in map(Path, paths) if p.exists()]
    if existing:
        more = f" ({len(existing)} of the outputs do)" if len(existing) > 1 else ""
        raise BrushworkError(f"{flag} {existing[0]} exists{more}; pass --overwrite to replace it")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """All image files below `folder`, recursively, sorted (so runs are reproducible)."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                  and not p.name.startswith("."))
