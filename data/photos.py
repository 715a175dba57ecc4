"""The training photos: a folder walked recursively, random-resized crops, a resumable shuffled stream.

    photos = scan_photos("photos/")                       # readable files; unreadable ones counted, reported once
    sampler = PhotoSampler(len(photos), seed=0, start=samples_seen)
    loader = make_loader(PhotoDataset(photos, 256), sampler, batch_size=4, workers=2)

Every crop is drawn from a random generator seeded by (seed, epoch, rank, position), not from global state,
so a resumed run sees exactly the photos and crops it would have seen, whatever the number of workers.
Batches are uint8 (B, 3, S, S); the training loop converts them to float on the device (4x less to copy).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset, Sampler

from .. import BrushworkError
from ..choices import CROP_AREA
from .images import list_images, open_rgb

CROP_RATIO = (3 / 4, 4 / 3)  # aspect ratio range of a crop before it is resized to a square


def _readable(path: Path) -> bool:
    """A cheap check of the header (a truncated body is caught later, when the photo is decoded)."""
    try:
        with Image.open(path) as im:
            return im.size[0] > 0 and im.size[1] > 0
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return False


def scan_photos(folder: str | os.PathLike, *, quiet: bool = False) -> list[Path]:
    """The readable photos below `folder`; BrushworkError if there is none. Skipped files are reported once."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BrushworkError(f"--data {folder}: no such folder; give a folder of photos (searched recursively)")
    candidates = list_images(folder)
    photos = [p for p in candidates if _readable(p)]
    skipped = len(candidates) - len(photos)
    if not photos:
        raise BrushworkError(f"--data {folder}: no readable image found ({skipped} unreadable files); "
                             "give a folder with JPEG, PNG, WebP, BMP or TIFF photos")
    if skipped and not quiet:
        readable = set(photos)
        first = next(p for p in candidates if p not in readable)
        print(f"brushwork train: skipped {skipped} unreadable file(s) in {folder} (first: {first})", file=sys.stderr)
    return photos


def random_resized_crop(image: Image.Image, size: int, rng: np.random.Generator,
                        area_range: tuple[float, float] = CROP_AREA) -> Image.Image:
    """A random crop of area_range of the area (35-100%), aspect 3:4..4:3, resized to size x size, flipped half the
    time. A range of (1, 1) is the whole photo, squeezed square."""
    w, h = image.size
    if area_range[0] >= 1.0:  # the whole photo: the aspect draw would only cut it
        crop = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop
    area = w * h * rng.uniform(*area_range)
    ratio = math.exp(rng.uniform(math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1])))
    cw = min(w, max(1, round(math.sqrt(area * ratio))))
    ch = min(h, max(1, round(math.sqrt(area / ratio))))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    crop = image.resize((size, size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch), reducing_gap=2.0)
    return crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """The largest centred square, resized to size x size (for the fixed validation photos)."""
    w, h = image.size
    side = min(w, h)
    x0, y0 = (w - side) // 2, (h - side) // 2
    return image.resize((size, size), Image.Resampling.BICUBIC, box=(x0, y0, x0 + side, y0 + side))


def to_uint8_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)  # (3, H, W)


class PhotoDataset(Dataset):
    """Random-resized crops of photos. Indexed by the keys PhotoSampler yields: (photo index, crop seed)."""

    def __init__(self, photos: list[Path], image_size: int, crop_area: tuple[float, float] = CROP_AREA):
        self.photos, self.image_size, self.crop_area = list(photos), image_size, tuple(crop_area)

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, key: tuple[int, tuple[int, ...]]) -> torch.Tensor:
        index, crop_seed = key
        rng = np.random.default_rng(crop_seed)
        for attempt in range(len(self.photos)):  # a truncated file: warn once and use the next photo instead
            path = self.photos[(index + attempt) % len(self.photos)]
            try:
                image = open_rgb(path)
            except BrushworkError as e:
                warnings.warn(f"skipping unreadable photo: {e}", stacklevel=1)
                continue
            return to_uint8_tensor(random_resized_crop(image, self.image_size, rng, self.crop_area))
        raise BrushworkError("no photo in --data could be decoded")


class PhotoSampler(Sampler):
    """An endless shuffled stream of (photo index, crop seed), sharded across processes, restartable anywhere.

    Position k of this rank's stream is epoch k // per_rank, offset k % per_rank; each epoch is a fresh
    permutation seeded by (seed, epoch) and split rank::world_size (padded by wrapping, as DistributedSampler
    does, so every rank gets the same count). `start` is how many samples this rank has consumed already.
    """

    def __init__(self, num_photos: int, *, seed: int = 0, rank: int = 0, world_size: int = 1, start: int = 0):
        self.num_photos, self.seed, self.rank, self.world_size, self.start = num_photos, seed, rank, world_size, start
        self.per_rank = math.ceil(num_photos / world_size)

    def _epoch_indices(self, epoch: int) -> np.ndarray:
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.num_photos)
        padded = np.resize(perm, self.per_rank * self.world_size)  # np.resize repeats the array to fill
        return padded[self.rank:: self.world_size]

    def __iter__(self) -> Iterator[tuple[int, tuple[int, ...]]]:
        k = self.start
        epoch, indices = -1, None
        while True:
            if k // self.per_rank != epoch:
                epoch = k // self.per_rank
                indices = self._epoch_indices(epoch)
            offset = k % self.per_rank
            yield int(indices[offset]), (self.seed, epoch, self.rank, offset)
            k += 1

    def position(self, samples_seen: int) -> dict:
        """The data position after `samples_seen` samples of this rank, as stored in checkpoints."""
        return {"samples_seen": samples_seen, "epoch": samples_seen // self.per_rank,
                "offset": samples_seen % self.per_rank, "num_photos": self.num_photos}


def make_loader(dataset: PhotoDataset, sampler: PhotoSampler, *, batch_size: int, workers: int,
                pin_memory: bool = False) -> DataLoader:
    """A DataLoader over the endless sampler: iterate it for as many steps as needed."""
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, drop_last=True,
                      pin_memory=pin_memory, persistent_workers=workers > 0,
                      prefetch_factor=4 if workers > 0 else None)


def validation_batch(photos: list[Path], size: int, count: int = 4) -> torch.Tensor:
    """`count` fixed photos spread over the list, centre-cropped: uint8 (count, 3, size, size)."""
    count = min(count, len(photos))
    picks = [photos[round(i * (len(photos) - 1) / max(1, count - 1))] for i in range(count)]
    tensors = []
    for path in picks:
        try:
            tensors.append(to_uint8_tensor(center_crop(open_rgb(path), size)))
        except BrushworkError:
            continue
    if not tensors:
        raise BrushworkError("none of the validation photos in --data could be decoded")
    return torch.stack(tensors)
