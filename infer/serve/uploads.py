"""Uploads for `brushwork serve`: a multipart form streamed into the work folder under a limit, then checked by
decoding it (never by its name or declared type).

Each request gets its own folder inside the work folder, named by the server; the client's file name is never
used as a path, so no upload can land anywhere else. The caller removes the folder when it is done with it.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from ... import BrushworkError
from .errors import ServeError

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the option fields, on top of the file itself
FILE_FIELD = "file"


def new_folder(work: Path) -> Path:
    folder = work / uuid.uuid4().hex
    folder.mkdir()
    return folder


async def read_form(request, folder: Path, max_bytes: int) -> tuple[dict[str, str], Path]:
    """The form's text fields and its file (saved as folder/upload); 413 over `max_bytes`, 4xx when malformed."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import FormParser, parse_options_header
    from starlette.requests import ClientDisconnect

    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise ServeError(415, "send a multipart form with the file in the field 'file', e.g. curl -F file=@photo.jpg")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + FORM_OVERHEAD:
        raise ServeError(413, _too_large(max_bytes))
    fields: dict[str, str] = {}
    files: list = []
    parser = FormParser("multipart/form-data", lambda f: fields.update({_text(f.field_name): _text(f.value)}),
                        files.append, boundary=options[b"boundary"],
                        config={"UPLOAD_DIR": str(folder), "UPLOAD_DELETE_TMP": False, "MAX_MEMORY_FILE_SIZE": 0})
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes + FORM_OVERHEAD:
                raise ServeError(413, _too_large(max_bytes))
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise ServeError(400, "the multipart form is malformed or cut short; send it again") from None
    except ClientDisconnect:  # the client went away mid-upload: nobody reads the answer, the log stays quiet
        raise ServeError(400, "the upload was interrupted") from None
    return fields, _keep_file(files, folder, max_bytes)


def _keep_file(files: list, folder: Path, max_bytes: int) -> Path:
    """The one file of the field 'file' as folder/upload; the others are dropped."""
    wanted = [f for f in files if _text(f.field_name) == FILE_FIELD]
    for f in files:
        f.close()
    if not wanted:
        raise ServeError(422, "no file: put it in the form field 'file', e.g. curl -F file=@photo.jpg")
    file, target = wanted[0], folder / "upload"
    if file.size == 0:
        raise ServeError(422, "the uploaded file is empty (0 bytes)")
    if file.size > max_bytes:
        raise ServeError(413, _too_large(max_bytes))
    if file.in_memory:  # python-multipart keeps nothing on disk for a file it never had to flush
        target.write_bytes(file.file_object.getvalue())
    else:
        Path(file.actual_file_name.decode()).replace(target)
    return target


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else (value or "")


def _too_large(max_bytes: int) -> str:
    return f"the upload is larger than this server's limit of {max_bytes / 2**20:.0f} MB (--max-upload)"


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def open_picture(path: Path, max_pixels: int):
    """The upload as an upright uint8 RGB array and its format name, decoded in full; 422 otherwise."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from ...data.images import open_image

    _register_heif()
    try:
        with Image.open(path) as im:  # reads the header only: the size is known before any pixel is decoded
            (width, height), fmt = im.size, im.format
    except (UnidentifiedImageError, OSError, ValueError) as e:
        if _is_video(path):
            raise ServeError(422, "the upload is a video; send videos to POST /jobs") from None
        raise ServeError(422, "the upload is not a picture that can be read (give a JPEG, PNG, WebP, GIF, BMP "
                              "or TIFF image)") from e
    check_pixels(width, height, max_pixels)
    try:
        image, _ = open_image(path)
    except BrushworkError as e:
        raise ServeError(422, str(e).replace(str(path), "the upload")) from None
    return np.asarray(image, dtype=np.uint8), fmt


def probe_video(path: Path, max_pixels: int) -> int:
    """Check the upload is a video with a decodable stream within the size limit; its expected frame count."""
    from ..media.video_io import expected_frames, open_input

    try:
        container = open_input(path)
    except BrushworkError:
        raise ServeError(422, "the upload is not a video that can be read (give an mp4, mov, mkv, webm or avi "
                              "file with a video stream)") from None
    try:
        if container.format.name == "image2" or container.format.name.endswith("_pipe"):  # FFmpeg reads pictures too
            raise ServeError(422, "the upload is a still picture, not a video; send pictures to POST /stylize")
        stream = container.streams.video[0]
        check_pixels(stream.width, stream.height, max_pixels)
        return expected_frames(container)
    finally:
        container.close()


def _is_video(path: Path) -> bool:
    from ..media.video_io import open_input

    try:
        open_input(path).close()
        return True
    except BrushworkError:
        return False


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ServeError(422, f"{width}x{height} is more pixels than this server's limit of {max_pixels:,} "
                              "(--max-pixels); send a smaller picture")
    if width * height == 0:
        raise ServeError(422, "the picture has no pixels")


def _register_heif() -> None:
    """iPhone photos (HEIC) are recognised by content once pillow-heif is registered, if it is installed."""
    try:
        import pillow_heif
    except ImportError:
        return
    pillow_heif.register_heif_opener()
