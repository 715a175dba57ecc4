"""Every picture a user has, through `brushwork stylize`: tiny images, AVIF, HEIC, and the photo's metadata (EXIF,
ICC profile, PNG text) kept or stripped. The Python API follows the same rules.

The model inverts colours (a hand-built ONNX graph), so the expected pixels are known exactly.
"""

import functools
import sys

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from brushwork import BrushworkError
from brushwork.cli import main
from brushwork.infer import Stylizer, stylize_file

MAKE, DATE_TIME_ORIGINAL, ORIENTATION, EXIF_IFD = 0x010F, 0x9003, 0x0112, 0x8769


@pytest.fixture
def model(tmp_path, make_invert_model):
    return make_invert_model(tmp_path / "invert.onnx")


def noise(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def stylize(*args):
    return main(["stylize", *map(str, args), "--quiet"])


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    return err[-1]


@functools.cache
def srgb_profile() -> bytes:
    """Made once: a profile carries the second it was created, so two made a second apart differ."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation=6) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "Brushwork Camera Co."
    exif[ORIENTATION] = orientation
    exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = "2024:05:06 07:08:09"
    return exif


@pytest.mark.parametrize("size", [(1, 1), (3, 97), (97, 3), (2, 5), (7, 8)])
def test_images_smaller_than_the_model_come_back_at_their_size(tmp_path, model, size):
    array = noise(*size)
    Image.fromarray(array).save(tmp_path / "tiny.png")
    assert stylize(tmp_path / "tiny.png", "-o", tmp_path / "out.png", "--model", model) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), 255 - array)


def test_the_model_sees_a_mirrored_pad_and_the_crop_comes_back(make_invert_model, tmp_path):
    """Padding happens in Stylizer.batch, below every caller: the model gets >= 8 px, the caller its own size."""
    stylizer = Stylizer(make_invert_model(tmp_path / "m.onnx"), device="cpu")
    seen = []
    run = stylizer.session.run
    stylizer.session.run = lambda names, feeds: seen.append(feeds["image"].shape) or run(names, feeds)
    frame = noise(3, 97)
    assert np.array_equal(stylizer(frame), 255 - frame)
    assert seen == [(1, 8, 97, 3)]


def test_an_empty_image_is_an_error(model):
    with pytest.raises(BrushworkError, match="empty"):
        Stylizer(model, device="cpu")(np.zeros((0, 5, 3), np.uint8))


def test_exif_and_icc_survive_a_jpeg_round_trip_with_orientation_applied(tmp_path, model):
    sideways = noise(20, 30)
    Image.fromarray(sideways).save(tmp_path / "photo.jpg", exif=camera_exif(6), icc_profile=srgb_profile(),
                                   quality=95)
    assert stylize(tmp_path / "photo.jpg", "-o", tmp_path / "out.jpg", "--model", model) == 0
    out = Image.open(tmp_path / "out.jpg")
    assert out.size == (20, 30)  # orientation 6 = turned a quarter: the pixels were made upright
    exif = out.getexif()
    assert exif[MAKE] == "Brushwork Camera Co." and exif[ORIENTATION] == 1
    assert exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] == "2024:05:06 07:08:09"
    assert out.info["icc_profile"] == srgb_profile()


def test_strip_metadata_writes_none(tmp_path, model):
    Image.fromarray(noise(20, 30)).save(tmp_path / "photo.jpg", exif=camera_exif(1), icc_profile=srgb_profile())
    assert stylize(tmp_path / "photo.jpg", "-o", tmp_path / "out.jpg", "--model", model, "--strip-metadata") == 0
    out = Image.open(tmp_path / "out.jpg")
    assert len(out.getexif()) == 0 and "icc_profile" not in out.info and "exif" not in out.info


def test_png_text_chunks_are_copied(tmp_path, model):
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", "a walk by the sea")
    info.add_text("Author", "Zoë")  # not Latin-1 encodable as UTF-8 bytes: an iTXt chunk
    Image.fromarray(noise(16, 16)).save(tmp_path / "in.png", pnginfo=info, exif=camera_exif(1))
    assert stylize(tmp_path / "in.png", "-o", tmp_path / "out.png", "--model", model) == 0
    out = Image.open(tmp_path / "out.png")
    assert out.text["Description"] == "a walk by the sea" and out.text["Author"] == "Zoë"
    assert out.getexif()[MAKE] == "Brushwork Camera Co."


def test_a_cmyk_profile_is_not_put_on_rgb_pixels(tmp_path, model):
    fake_cmyk = bytearray(srgb_profile())
    fake_cmyk[16:20] = b"CMYK"
    Image.fromarray(noise(16, 16)).convert("CMYK").save(tmp_path / "print.jpg", icc_profile=bytes(fake_cmyk))
    assert stylize(tmp_path / "print.jpg", "-o", tmp_path / "out.jpg", "--model", model) == 0
    assert "icc_profile" not in Image.open(tmp_path / "out.jpg").info


def test_avif_in_png_out_and_back(tmp_path, model):
    Image.fromarray(noise(24, 40)).save(tmp_path / "photo.avif", quality=90)
    decoded = np.asarray(Image.open(tmp_path / "photo.avif").convert("RGB"))
    assert stylize(tmp_path / "photo.avif", "-o", tmp_path / "out.png", "--model", model) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), 255 - decoded)
    assert stylize(tmp_path / "out.png", "-o", tmp_path / "again.avif", "--model", model) == 0
    assert Image.open(tmp_path / "again.avif").size == (40, 24)


def test_heic_in(tmp_path, model):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    Image.fromarray(noise(24, 40)).save(tmp_path / "phone.heic", quality=90, exif=camera_exif(1).tobytes())
    decoded = np.asarray(Image.open(tmp_path / "phone.heic").convert("RGB"))
    assert stylize(tmp_path / "phone.heic", "-o", tmp_path / "out.png", "--model", model) == 0
    out = Image.open(tmp_path / "out.png")
    assert np.array_equal(np.asarray(out), 255 - decoded) and out.getexif()[MAKE] == "Brushwork Camera Co."


def test_heic_without_pillow_heif_names_the_package(tmp_path, model, capsys, monkeypatch):
    (tmp_path / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # `import pillow_heif` now fails
    assert stylize(tmp_path / "phone.heic", "-o", tmp_path / "out.jpg", "--model", model) == 2
    assert "pip install pillow-heif" in error_line(capsys)
    assert not (tmp_path / "out.jpg").exists()


def test_api_on_a_path_and_a_pil_image(tmp_path, model):
    array = noise(20, 30)
    Image.fromarray(array).save(tmp_path / "photo.jpg", exif=camera_exif(6), icc_profile=srgb_profile(), quality=95)
    stylizer = Stylizer(model, device="cpu")
    from_path, from_image = stylizer(tmp_path / "photo.jpg"), stylizer(Image.open(tmp_path / "photo.jpg"))
    for picture in (from_path, from_image):
        assert isinstance(picture, Image.Image) and picture.size == (20, 30)
        assert picture.info["icc_profile"] == srgb_profile()
        exif = Image.Exif()
        exif.load(picture.info["exif"])
        assert exif[ORIENTATION] == 1 and exif[MAKE] == "Brushwork Camera Co."
    assert np.array_equal(np.asarray(from_path), np.asarray(from_image))
    stylize_file(tmp_path / "photo.jpg", tmp_path / "out.webp", stylizer)
    assert Image.open(tmp_path / "out.webp").getexif()[ORIENTATION] == 1


def test_folder_keeps_metadata_and_tiny_images(tmp_path, model):
    (tmp_path / "in").mkdir()
    Image.fromarray(noise(20, 30)).save(tmp_path / "in" / "a.jpg", exif=camera_exif(1))
    Image.fromarray(noise(1, 1)).save(tmp_path / "in" / "dot.png")
    assert stylize(tmp_path / "in", "-o", tmp_path / "out", "--model", model) == 0
    assert Image.open(tmp_path / "out" / "a.jpg").getexif()[MAKE] == "Brushwork Camera Co."
    assert Image.open(tmp_path / "out" / "dot.png").size == (1, 1)
