"""Read, resize and write images with Pillow and numpy only (no torch: the runtime uses this too).

Images are uint8 arrays (H, W, 3) RGB. Reading applies the EXIF orientation and converts any mode
(grayscale, palette, CMYK, RGBA, 16-bit) to RGB; writing is atomic (temp file + rename), so a crash never
leaves a half-written file under the output name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .. import BrushworkError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


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
    path = Path(path)
    if not path.is_file():
        raise BrushworkError(f"{path}: no such file")
    try:
        with Image.open(path) as im:
            im.load()  # read now: a truncated file fails here, not later
            return to_rgb(ImageOps.exif_transpose(im))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise BrushworkError(f"{path}: not a readable image ({e}); give a JPEG, PNG, WebP, BMP or TIFF file") from None


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


def write_image(path: str | os.PathLike, array: np.ndarray, *, quality: int = 95) -> None:
    """Write a uint8 (H, W, 3) array atomically: temp file in the same folder, fsync, rename."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise BrushworkError(f"{path}: unknown image type {suffix!r}; use one of {', '.join(IMAGE_SUFFIXES)}")
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(suffix, suffix[1:].upper())
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    atomic_write(path, lambda f: image.save(f, format=fmt, **options))


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call write(file_object) on a temp file beside `path`, fsync it, then rename it over `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise BrushworkError(f"{path}: cannot write there ({e.strerror}); choose another output path") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the permissions open() would
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def list_images(folder: str | os.PathLike) -> list[Path]:
    """All image files below `folder`, recursively, sorted (so runs are reproducible)."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                  and not p.name.startswith("."))
