"""Uploads for `brushwork serve`: a multipart form streamed into the work folder under a limit, then checked by
decoding it (never by its name or declared type).

Each request gets its own folder inside the work folder, named by the server; the client's file name is never
used as a path, so no upload can land anywhere else. The caller removes the folder when it is done with it.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path

from ... import BrushworkError
from .errors import ServeError, echo

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the option fields, on top of the file itself
FILE_FIELD = "file"
MAX_PARTS = 16  # the form has one file and a few short options (style, strength, preserve_color)
MAX_FIELD_BYTES = 1024  # an option's value; a longer one is refused, not kept in memory
# A request body must keep coming: a gap of IDLE_S, or an average under MIN_RATE after GRACE_S, ends it with 408.
# Without a deadline, 8 clients sending 1 byte/s held every queue place for as long as they trickled.
IDLE_S, GRACE_S, MIN_RATE = 10.0, 10.0, 16 * 1024


def new_folder(work: Path) -> Path:
    folder = work / uuid.uuid4().hex
    folder.mkdir()
    return folder


async def read_form(request, folder: Path, max_bytes: int) -> tuple[dict[str, str], Path]:
    """The form's text fields and its one file (streamed to folder/upload); 413 over `max_bytes`, 4xx when the
    form is malformed, has more than one file or MAX_PARTS parts, or a field longer than MAX_FIELD_BYTES."""
    from python_multipart.multipart import parse_options_header
    from starlette.requests import ClientDisconnect

    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise ServeError(415, "send a multipart form with the file in the field 'file', e.g. curl -F file=@photo.jpg")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + FORM_OVERHEAD:
        raise ServeError(413, _too_large(max_bytes))
    form = _Form(folder / "upload", max_bytes, options[b"boundary"])
    received = 0
    try:
        async for chunk in _paced(request.stream()):
            received += len(chunk)
            if received > max_bytes + FORM_OVERHEAD:
                raise ServeError(413, _too_large(max_bytes))
            form.write(chunk)
        form.finish()
    except ClientDisconnect:  # the client went away mid-upload: nobody reads the answer, the log stays quiet
        raise ServeError(400, "the upload was interrupted") from None
    finally:
        form.close()
    return form.fields, form.path


async def _paced(chunks):
    """The body's chunks, as long as they keep coming at a pace (IDLE_S, GRACE_S, MIN_RATE); 408 when not."""
    start, received, chunks = time.monotonic(), 0, chunks.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), IDLE_S)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ServeError(408, f"the upload stalled for {IDLE_S:.0f} s; send it again") from None
        received += len(chunk)
        elapsed = time.monotonic() - start
        if elapsed > GRACE_S and received < MIN_RATE * elapsed:
            raise ServeError(408, f"the upload is too slow (under {MIN_RATE // 1024} KB/s); send it again over a "
                                  "faster connection")
        yield chunk


class _Form:
    """A multipart form parsed as it streams in: text fields kept (bounded), the one file written straight to
    `path` through one open file; nothing else touches the disk, whatever the client sends."""

    def __init__(self, path: Path, max_bytes: int, boundary: bytes):
        from python_multipart.multipart import MultipartParser

        self.path, self.max_bytes = path, max_bytes
        self.fields: dict[str, str] = {}
        self.parts, self.file_bytes, self._file = 0, 0, None
        self._headers, self._name, self._value, self._is_file = [], "", bytearray(), False
        self._header = [bytearray(), bytearray()]
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data, "on_part_end": self._part_end})

    def write(self, chunk: bytes) -> None:
        from python_multipart.exceptions import FormParserError

        try:
            self._parser.write(chunk)
        except FormParserError:
            raise ServeError(400, "the multipart form is malformed; send it again") from None

    def finish(self) -> None:
        from python_multipart.exceptions import FormParserError

        try:
            self._parser.finalize()
        except FormParserError:
            raise ServeError(400, "the multipart form is malformed or cut short; send it again") from None
        if self._file is not None or self._is_file:
            raise ServeError(400, "the multipart form is cut short; send it again")
        if not self.path.exists():
            raise ServeError(422, "no file: put it in the form field 'file', e.g. curl -F file=@photo.jpg")
        if self.file_bytes == 0:
            raise ServeError(422, "the uploaded file is empty (0 bytes)")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ServeError(400, f"the form has more than {MAX_PARTS} parts; send the file and its options only")
        self._headers, self._name, self._value, self._is_file = [], "", bytearray(), False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        self._headers.append((bytes(self._header[0]).lower(), bytes(self._header[1])))
        self._header = [bytearray(), bytearray()]

    def _headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        disposition = dict(self._headers).get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        self._name = _text(options.get(b"name", b""))
        self._is_file = b"filename" in options
        if not self._is_file:
            return
        if self._name != FILE_FIELD or self.path.exists():
            raise ServeError(422, f"send exactly one file, in the form field '{FILE_FIELD}'")
        self._file = self.path.open("xb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.file_bytes += end - start
            if self.file_bytes > self.max_bytes:
                raise ServeError(413, _too_large(self.max_bytes))
            self._file.write(data[start:end])
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise ServeError(413, f"the form field {echo(self._name)} is longer than {MAX_FIELD_BYTES} bytes; "
                                  "options are short values")

    def _part_end(self) -> None:
        if self._is_file:
            self.close()
            self._is_file = False
        elif self._name:
            self.fields[self._name] = _text(bytes(self._value))


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
    except Image.DecompressionBombError:  # Pillow's own limit (~179 Mpx), far above any --max-pixels that fits
        raise ServeError(422, f"the picture has more pixels than this server's limit of {max_pixels:,} "
                              "(--max-pixels); send a smaller picture") from None
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


def probe_video(path: Path, max_pixels: int) -> tuple[int, int, int]:
    """Check the upload is a video with a decodable stream within the size limit: (expected frame count, height,
    width)."""
    from ..media.video_io import expected_frames, open_input

    try:
        container = open_input(path)  # video containers only (video_io.DEMUXERS): never a playlist or concat list
    except BrushworkError:
        if _is_picture(path):
            raise ServeError(422, "the upload is a still picture, not a video; send pictures to POST /stylize"
                             ) from None
        raise ServeError(422, "the upload is not a video that can be read (give an mp4, mov, mkv, webm or avi "
                              "file with a video stream)") from None
    try:
        stream = container.streams.video[0]
        check_pixels(stream.width, stream.height, max_pixels)
        return expected_frames(container), stream.height, stream.width
    finally:
        container.close()


def _is_video(path: Path) -> bool:
    from ..media.video_io import open_input

    try:
        open_input(path).close()
        return True
    except BrushworkError:
        return False


def _is_picture(path: Path) -> bool:
    from PIL import Image

    _register_heif()
    try:
        with Image.open(path):
            return True
    except Exception:  # noqa: BLE001 - whatever Pillow cannot open is not a picture to it
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
