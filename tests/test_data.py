"""The photo dataset: folder walk, odd image modes, unreadable files, crops, and the resumable sampler."""

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork import BrushworkError
from brushwork.data.images import read_image
from brushwork.data.photos import (
    PhotoDataset,
    PhotoSampler,
    make_loader,
    random_resized_crop,
    scan_photos,
    validation_batch,
)


def synthetic_photo(seed: int, height: int, width: int) -> np.ndarray:
    """Gradients plus noise: enough structure for JPEG and crops to differ."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 / width, yy * 255 / height, (xx + yy) * 127 / (width + height)], -1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def _take(sampler, n):
    it = iter(sampler)
    return [next(it) for _ in range(n)]


def test_scan_walks_recursively_and_skips_unreadable(photo_dir, capsys):
    (photo_dir / "notes.jpg").write_text("not an image")
    (photo_dir / "readme.txt").write_text("ignored: not an image suffix")
    photos = scan_photos(photo_dir)
    assert len(photos) == 8
    assert any(p.parent.name == "nested" for p in photos)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "skipped 1 unreadable" in err and "notes.jpg" in err


def test_scan_errors_before_training(tmp_path):
    with pytest.raises(BrushworkError, match="no such folder"):
        scan_photos(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BrushworkError, match="no readable image"):
        scan_photos(tmp_path / "empty")
    (tmp_path / "empty" / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(BrushworkError, match="1 unreadable"):
        scan_photos(tmp_path / "empty")


def _save_modes(folder):
    rgb = synthetic_photo(3, 40, 56)
    Image.fromarray(rgb).convert("L").save(folder / "gray.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.webp")
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(folder / "deep16.tiff")
    Image.fromarray(rgb).save(folder / "plain.bmp")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees on display
    Image.fromarray(rgb).save(folder / "rotated.jpg", exif=exif)


def test_any_mode_becomes_an_rgb_crop(tmp_path):
    _save_modes(tmp_path)
    photos = scan_photos(tmp_path)
    assert len(photos) == 6
    dataset = PhotoDataset(photos, 32)
    for i in range(len(photos)):
        crop = dataset[i, (0, 0, 0, i)]
        assert crop.shape == (3, 32, 32) and crop.dtype == torch.uint8


def test_exif_rotation_and_16_bit_keep_the_content(tmp_path):
    _save_modes(tmp_path)
    rgb = synthetic_photo(3, 40, 56)
    Image.fromarray(rgb).save(tmp_path / "plain.jpg")  # the same pixels and encoder, without the EXIF tag
    rotated, plain = read_image(tmp_path / "rotated.jpg"), read_image(tmp_path / "plain.jpg")
    assert rotated.shape == (56, 40, 3)
    np.testing.assert_array_equal(rotated, np.rot90(plain, k=-1))  # orientation 6: turned 90 degrees clockwise
    assert np.abs(rotated.astype(int) - np.rot90(plain, k=1)).mean() > 50  # the other way round is far off
    deep = read_image(tmp_path / "deep16.tiff")  # values v * 257: 16-bit scaled back to exactly v
    np.testing.assert_array_equal(deep, np.repeat(rgb[..., :1], 3, axis=-1))


def test_crops_are_a_function_of_their_seed(photo_dir):
    dataset = PhotoDataset(scan_photos(photo_dir), 48)
    a, b, c = dataset[2, (5, 1, 0, 3)], dataset[2, (5, 1, 0, 3)], dataset[2, (5, 1, 0, 4)]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_random_resized_crop_stays_inside_and_varies():
    image = Image.fromarray(synthetic_photo(1, 50, 200))
    rng = np.random.default_rng(0)
    crops = [np.asarray(random_resized_crop(image, 40, rng)) for _ in range(5)]
    assert all(c.shape == (40, 40, 3) for c in crops)
    assert len({c.tobytes() for c in crops}) == 5


def test_crop_area_sets_how_much_of_the_scene_a_crop_shows():
    """--crop-area 1 1: the whole photo squeezed square (a gradient keeps its two ends); a small range zooms in."""
    ramp = np.repeat(np.linspace(0, 255, 120, dtype=np.uint8)[None, :, None], 80, 0).repeat(3, 2)
    image = Image.fromarray(ramp)
    rng = np.random.default_rng(0)
    whole = [np.asarray(random_resized_crop(image, 40, rng, (1.0, 1.0)))[..., 0] for _ in range(4)]
    for crop in whole:  # flipped or not, it spans the whole ramp
        assert {int(crop[0, 0]), int(crop[0, -1])} <= set(range(6)) | set(range(250, 256))
        assert abs(int(crop[0, 0]) - int(crop[0, -1])) > 240
    zoomed = np.asarray(random_resized_crop(image, 40, rng, (0.1, 0.1)))[..., 0]
    assert abs(int(zoomed[0, 0]) - int(zoomed[0, -1])) < 130


def test_crop_area_flag_is_checked():
    from brushwork import BrushworkError
    from brushwork.train.config import TrainConfig

    assert TrainConfig(style="s.jpg", data="d/", crop_area=[0.6, 1]).crop_area == [0.6, 1.0]
    for bad in ([0, 1], [0.8, 0.5], [0.5, 1.5], [0.5]):
        with pytest.raises(BrushworkError, match="--crop-area"):
            TrainConfig(style="s.jpg", data="d/", crop_area=bad)


def test_truncated_photo_is_replaced_with_a_warning(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(synthetic_photo(0, 64, 64)).save(buffer, format="JPEG")
    (tmp_path / "a_truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    Image.fromarray(synthetic_photo(1, 64, 64)).save(tmp_path / "b_good.png")
    photos = scan_photos(tmp_path)
    assert len(photos) == 2  # the header is fine: the damage shows only when decoding
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        crop = PhotoDataset(photos, 32)[0, (0, 0, 0, 0)]
    assert crop.shape == (3, 32, 32)
    assert any("a_truncated.jpg" in str(w.message) for w in caught)


def test_sampler_restarts_exactly_mid_epoch():
    full = _take(PhotoSampler(7, seed=3), 30)
    resumed = _take(PhotoSampler(7, seed=3, start=11), 19)
    assert resumed == full[11:]
    first_epoch = sorted(index for index, _ in full[:7])
    assert first_epoch == list(range(7))  # each epoch is a permutation
    assert [i for i, _ in full[:7]] != [i for i, _ in full[7:14]]  # reshuffled per epoch


def test_sampler_shards_across_ranks():
    ranks = [_take(PhotoSampler(9, seed=1, rank=r, world_size=2), 5) for r in range(2)]
    indices = [i for shard in ranks for i, _ in shard]
    assert set(indices) == set(range(9)) and len(indices) == 10  # padded by wrapping: 5 each
    assert {s for _, s in ranks[0]}.isdisjoint({s for _, s in ranks[1]})


def test_loader_batches_match_with_and_without_workers(photo_dir):
    dataset = PhotoDataset(scan_photos(photo_dir), 32)
    batches = []
    for workers in (0, 2):
        it = iter(make_loader(dataset, PhotoSampler(len(dataset), seed=0, start=5), batch_size=3, workers=workers))
        batches.append([next(it) for _ in range(3)])
    for a, b in zip(*batches):
        assert a.shape == (3, 3, 32, 32) and torch.equal(a, b)


def test_validation_batch_is_fixed(photo_dir):
    photos = scan_photos(photo_dir)
    a, b = validation_batch(photos, 40), validation_batch(photos, 40)
    assert a.shape == (4, 3, 40, 40) and torch.equal(a, b)
