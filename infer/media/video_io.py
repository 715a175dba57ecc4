"""Video files in and out with PyAV: opening with clear errors, decoding to RGB arrays, H.264 (VP9 for WebM)
encoding that keeps the input's timestamps and rotation, and the input's audio copied packet by packet.

The threaded stylizing pipeline that joins them is infer/media/video.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from ... import BrushworkError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
# FFmpeg opens only these containers (its demuxers for the suffixes above), from local files only: never a playlist,
# concat list or network URL that a file could name (a 33-byte self-referencing ffconcat file recursed until the
# process ran out of file descriptors).
DEMUXERS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi")
SAFE_INPUT = {"format_whitelist": ",".join(DEMUXERS), "protocol_whitelist": "file"}


def open_input(path: str | os.PathLike):
    """Open a video file for reading; BrushworkError unless it has a decodable video stream."""
    import av

    path = Path(path)
    if not path.is_file():
        raise BrushworkError(f"{path}: no such file")
    try:
        container = av.open(str(path), container_options=SAFE_INPUT)
    except (av.FFmpegError, UnicodeDecodeError) as e:
        raise BrushworkError(f"{path}: not a readable video ({short_error(e)}); is it complete? "
                             "give an mp4, mov, mkv, webm or avi file") from None
    if not container.streams.video:
        container.close()
        raise BrushworkError(f"{path}: has no video stream (audio only?); give a file with video in it")
    return container


def short_error(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__


def even_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Output size: scaled so the longest side is at most `max_side`, rounded to even (yuv420p needs even)."""
    scale = min(1.0, max_side / max(width, height)) if max_side else 1.0
    w, h = max(2, round(width * scale)), max(2, round(height * scale))
    return w - w % 2, h - h % 2


def frame_sizes(width: int, height: int, max_side: int | None) -> tuple[tuple[int, int], tuple[int, int]]:
    """(decoded size, encoded size) of a video's frames. Frames scaled down for `max_side` land on even sides
    directly. Frames kept at their own size are decoded whole; an odd side (which H.264 and VP9 in yuv420p cannot
    encode) then loses its last column or row at the encoder, so no pixel is resampled."""
    if (max_side and max(width, height) > max_side) or min(width, height) < 2:
        size = even_size(width, height, max_side)
        return size, size
    return (width, height), (width - width % 2, height - height % 2)


def decoded_frames(container, size: tuple[int, int] | None = None,
                   warnings: list[str] | None = None) -> Iterator[tuple[np.ndarray, object]]:
    """(uint8 (H, W, 3) RGB, av.VideoFrame) for each decodable frame; a truncated file ends early with a warning."""
    import av

    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame + slice threads inside FFmpeg's decoder
    width, height = size if size else (None, None)
    try:
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24", width=width, height=height), frame
    except av.FFmpegError as e:
        if warnings is not None:
            warnings.append(f"decoding stopped early ({short_error(e)}); the frames before it were kept")


def read_frames(path: str | os.PathLike, max_side: int | None = None,
                warnings: list[str] | None = None) -> Iterator[np.ndarray]:
    """A video file's frames as uint8 (H, W, 3) RGB, in order, one at a time, scaled down so the longest side is at
    most `max_side` (frame_sizes); a truncated file ends early with a warning in `warnings`."""
    container = open_input(path)
    try:
        stream = container.streams.video[0]
        size, _ = frame_sizes(stream.width, stream.height, max_side)
        for rgb, _ in decoded_frames(container, size, warnings):
            yield rgb
    finally:
        container.close()


def expected_frames(container) -> int:
    """Frames the header promises: the stream's count, else duration x frame rate (0 if unknown)."""
    stream = container.streams.video[0]
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    if stream.duration and stream.time_base and rate:
        return int(stream.duration * stream.time_base * rate)
    if container.duration and rate:
        return int(container.duration / 1_000_000 * rate)
    return 0


class AudioCopy:
    """Copies every audio stream's packets into the output as they are (bit for bit), interleaved by time."""

    def __init__(self, path: Path, output):
        import av

        self.input = av.open(str(path), container_options=SAFE_INPUT)
        try:
            self.map = {s.index: output.add_stream_from_template(s) for s in self.input.streams.audio}
        except (ValueError, av.FFmpegError):
            codecs = ", ".join(s.codec_context.name for s in self.input.streams.audio)
            self.input.close()
            raise BrushworkError(f"a {Path(output.name).suffix} file cannot hold the input's {codecs} audio, which "
                                 "is copied as is; write .mkv or .mp4 instead") from None
        self.packets = self.input.demux(*self.input.streams.audio) if self.map else iter(())
        self.pending = None
        self.output = output

    def mux_until(self, seconds: float | None) -> None:
        """Mux audio packets up to `seconds` (None: all that remain)."""
        while True:
            packet = self.pending or next(self.packets, None)
            self.pending = None
            if packet is None:
                return
            if packet.size == 0:  # the demuxer's end-of-stream marker
                continue
            if seconds is not None and packet.pts is not None and packet.pts * packet.time_base > seconds:
                self.pending = packet
                return
            packet.stream = self.map[packet.stream.index]
            self.output.mux(packet)

    def close(self) -> None:
        self.input.close()


def codec_options(filename: str, crf: int, preset: str) -> tuple[str, dict[str, str]]:
    """H.264 (libx264) everywhere but WebM, which only holds VP8/VP9/AV1: VP9 at a comparable quality there."""
    if str(filename).lower().endswith(".webm"):
        return "libvpx-vp9", {"crf": str(min(63, crf + 13)), "b": "0", "row-mt": "1", "deadline": "good",
                              "cpu-used": "4"}
    return "libx264", {"crf": str(crf), "preset": preset}


def add_encoder(output, codec: str, **kwargs):
    """output.add_stream(codec, ...), or one line naming the missing encoder: an FFmpeg built without libx264 or
    libvpx (some distributions' PyAV builds on their own FFmpeg) has no such codec."""
    import av

    try:
        return output.add_stream(codec, **kwargs)
    except av.codec.codec.UnknownCodecError:
        other = "write a .webm (VP9)" if codec == "libx264" else "write an .mp4 (H.264)"
        raise BrushworkError(f"-o {output.name}: this FFmpeg (PyAV {av.__version__}) has no {codec} encoder; "
                             f"install PyAV's own wheel (`pip install --force-reinstall av`), or {other}") from None


class Encoder:
    """libx264 yuv420p into a container, keeping the input's timestamps and rotation; audio copied alongside."""

    def __init__(self, output, source_stream, size: tuple[int, int], *, crf: int, preset: str, rotation: int):
        self.output = output
        rate = source_stream.average_rate or source_stream.guessed_rate or Fraction(30)
        codec, options = codec_options(output.name, crf, preset)
        self.stream = add_encoder(output, codec, rate=rate, options=options)
        self.stream.width, self.stream.height = self.size = size
        self.stream.pix_fmt = "yuv420p"
        self.time_base = source_stream.time_base or Fraction(1, 1000)
        self.stream.time_base = self.time_base
        self.stream.codec_context.time_base = self.time_base
        if rotation:
            self.stream.set_display_rotation(rotation)
        self.step = max(1, round(1 / (rate * self.time_base)))  # a frame's duration, for frames without pts
        self.last_pts = None

    def encode(self, rgb: np.ndarray, pts: int | None, duration: int | None = None) -> None:
        import av

        width, height = self.size
        if rgb.shape[:2] != (height, width):  # an odd side: drop the last column or row (see frame_sizes)
            rgb = np.ascontiguousarray(rgb[:height, :width])
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if duration:
            frame.duration = duration  # the last frame's duration sets the file's length and average rate
        if pts is None or (self.last_pts is not None and pts <= self.last_pts):
            pts = 0 if self.last_pts is None else self.last_pts + self.step
        frame.pts, frame.time_base, self.last_pts = pts, self.time_base, pts
        for packet in self.stream.encode(frame):
            self.output.mux(packet)

    def flush(self) -> None:
        for packet in self.stream.encode(None):
            self.output.mux(packet)
