"""Video in and out with PyAV: frames as a generator, and a threaded decode -> stylize -> encode pipeline.

    from brushwork.infer import Stylizer, stylize_frames
    for frame, stylized in stylize_frames("clip.mp4", Stylizer("starry.onnx")):   # uint8 (H, W, 3) pairs
        ...
    stylize_video("in.mp4", "out.mp4", process)    # what `brushwork stylize in.mp4 -o out.mp4` runs

The pipeline keeps each frame's timestamp (so variable frame rate survives), the rotation metadata, and copies
every audio stream packet by packet (no re-encoding). Three threads joined by bounded queues: memory stays flat
on a two-hour video and the slowest stage sets the pace. The output goes to a temp file beside the target and is
renamed at the end, so an interrupted run leaves nothing under the output name.
"""

from __future__ import annotations

import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import BrushworkError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
_END = object()  # end-of-stream marker in the queues


@dataclass
class Stages:
    """Seconds spent per pipeline stage and frames through it (for the per-stage report)."""

    seconds: dict[str, float] = field(default_factory=lambda: {"decode": 0.0, "stylize": 0.0, "post": 0.0,
                                                               "encode": 0.0})
    frames: int = 0
    wall: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def report(self) -> str:
        n = max(self.frames, 1)
        parts = " | ".join(f"{k} {1000 * v / n:.1f}" for k, v in self.seconds.items())
        fps = self.frames / self.wall if self.wall else 0.0
        return f"{self.frames} frames in {self.wall:.1f} s ({fps:.1f} fps); ms/frame: {parts}"


def open_input(path: str | os.PathLike):
    """Open a video file for reading; BrushworkError unless it has a decodable video stream."""
    import av

    path = Path(path)
    if not path.is_file():
        raise BrushworkError(f"{path}: no such file")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as e:
        raise BrushworkError(f"{path}: not a readable video ({_short(e)}); is it complete? "
                             "give an mp4, mov, mkv, webm or avi file") from None
    if not container.streams.video:
        container.close()
        raise BrushworkError(f"{path}: has no video stream (audio only?); give a file with video in it")
    return container


def _short(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__


def even_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Output size: scaled so the longest side is at most `max_side`, rounded to even (yuv420p needs even)."""
    scale = min(1.0, max_side / max(width, height)) if max_side else 1.0
    w, h = max(2, round(width * scale)), max(2, round(height * scale))
    return w - w % 2, h - h % 2


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
            warnings.append(f"decoding stopped early ({_short(e)}); the frames before it were kept")


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


def stylize_frames(path: str | os.PathLike, stylizer: Callable[[np.ndarray], np.ndarray], *,
                   max_side: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (frame, stylized frame) for each frame of a video, in order, one at a time (flat memory)."""
    container = open_input(path)
    try:
        stream = container.streams.video[0]
        size = even_size(stream.width, stream.height, max_side) if max_side else None
        for rgb, _ in decoded_frames(container, size):
            yield rgb, stylizer(rgb)
    finally:
        container.close()


class AudioCopy:
    """Copies every audio stream's packets into the output as they are (bit for bit), interleaved by time."""

    def __init__(self, path: Path, output):
        import av

        self.input = av.open(str(path))
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


class Encoder:
    """libx264 yuv420p into a container, keeping the input's timestamps and rotation; audio copied alongside."""

    def __init__(self, output, source_stream, size: tuple[int, int], *, crf: int, preset: str, rotation: int):
        self.output = output
        rate = source_stream.average_rate or source_stream.guessed_rate or Fraction(30)
        codec, options = codec_options(output.name, crf, preset)
        self.stream = output.add_stream(codec, rate=rate, options=options)
        self.stream.width, self.stream.height = size
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


def stylize_video(src: str | os.PathLike, dst: str | os.PathLike,
                  stylize_batch: Callable[[np.ndarray], np.ndarray],
                  post: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None, *, batch_size: int = 4,
                  crf: int = 18, preset: str = "medium", max_side: int | None = None, progress: bool = True) -> Stages:
    """Stylize a video file into `dst` (written to a temp file beside it, renamed at the end).

    Args:
        stylize_batch: uint8 (N, H, W, 3) -> uint8 (N, H, W, 3), e.g. Stylizer.batch.
        post: (input frame, stylized frame) -> frame, called in frame order (temporal blending, colour, strength).
    """
    import av

    src, dst = Path(src), Path(dst)
    container = open_input(src)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=dst.suffix, dir=dst.parent)
    except OSError as e:
        container.close()
        raise BrushworkError(f"{dst}: cannot write there ({e.strerror}); choose another output path") from None
    os.close(fd)
    try:
        stages = _Pipeline(src, container, stylize_batch, post, batch_size, max_side).run(
            tmp, crf=crf, preset=preset, progress=progress)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
        return stages
    except av.FFmpegError as e:
        raise BrushworkError(f"{dst}: writing the video failed ({_short(e)}); try another container (.mp4, .mkv)"
                             ) from None
    finally:  # on success tmp is already dst; on any failure or Ctrl-C nothing stays under either name
        if os.path.exists(tmp):
            os.unlink(tmp)
        container.close()


class _Pipeline:
    """decode thread -> queue -> stylize thread -> queue -> encode (calling thread)."""

    def __init__(self, src: Path, container, stylize_batch, post, batch_size: int, max_side: int | None):
        self.src, self.container, self.stylize_batch, self.post = src, container, stylize_batch, post
        self.batch_size = max(1, batch_size)
        stream = container.streams.video[0]
        self.total = stream.frames or None
        self.size = even_size(stream.width, stream.height, max_side)
        self.stages = Stages()
        if not max_side and self.size != (stream.width, stream.height):
            self.stages.warnings.append(f"{stream.width}x{stream.height} has an odd side; H.264 yuv420p needs "
                                        f"even ones, so the output is {self.size[0]}x{self.size[1]}")
        self.decoded: queue.Queue = queue.Queue(maxsize=2 * self.batch_size)
        self.stylized: queue.Queue = queue.Queue(maxsize=2 * self.batch_size)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.decoded_count = 0

    def run(self, tmp: str, *, crf: int, preset: str, progress: bool) -> Stages:
        import av

        start = time.perf_counter()
        threads = [threading.Thread(target=self._guard, args=(f,), daemon=True)
                   for f in (self._decode_loop, self._stylize_loop)]
        for t in threads:
            t.start()
        try:
            with av.open(tmp, "w") as output:
                self._encode_loop(output, crf, preset, progress)
        finally:
            self.stop.set()
            for t in threads:
                t.join(timeout=10)
        self.stages.wall = time.perf_counter() - start
        return self.stages

    def _guard(self, loop) -> None:
        try:
            loop()
        except BaseException as e:  # noqa: BLE001 - handed to the calling thread, which re-raises it
            self.error = self.error or e
            self.stop.set()

    def _put(self, q: queue.Queue, item) -> bool:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue):
        while True:
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                if self.stop.is_set():
                    return _END

    def _decode_loop(self) -> None:
        try:
            t = time.perf_counter()
            for rgb, frame in decoded_frames(self.container, self.size, self.stages.warnings):
                self.stages.seconds["decode"] += time.perf_counter() - t
                if not self._put(self.decoded, (rgb, (frame.pts, frame.duration), frame.rotation)):
                    return
                self.decoded_count += 1
                t = time.perf_counter()
            self._check_complete()
        finally:
            self._put(self.decoded, _END)

    def _check_complete(self) -> None:
        """Warn when fewer frames decoded than the header promises (a truncated or damaged file)."""
        expected = expected_frames(self.container)
        if expected and self.decoded_count < expected - max(2, expected // 50) and not self.stages.warnings:
            self.stages.warnings.append(f"only {self.decoded_count} of ~{expected} frames could be decoded (truncated "
                                        "or damaged file?); the output holds those")

    def _stylize_loop(self) -> None:
        try:
            ended = False
            while not ended:
                items, ended = self._collect()
                if items:
                    self._stylize(items)
        finally:
            self._put(self.stylized, _END)

    def _collect(self) -> tuple[list, bool]:
        items = []
        while len(items) < self.batch_size:
            item = self._get(self.decoded)
            if item is _END:
                return items, True
            items.append(item)
        return items, False

    def _stylize(self, items: list) -> None:
        t0 = time.perf_counter()
        outs = self.stylize_batch(np.stack([rgb for rgb, _, _ in items]))
        t1 = time.perf_counter()
        outs = [self.post(rgb, out) if self.post else out for (rgb, _, _), out in zip(items, outs)]
        self.stages.seconds["stylize"] += t1 - t0
        self.stages.seconds["post"] += time.perf_counter() - t1
        for (_, pts, rotation), out in zip(items, outs):
            if not self._put(self.stylized, (out, pts, rotation)):
                return

    def _encode_loop(self, output, crf: int, preset: str, progress: bool) -> None:
        from tqdm import tqdm

        encoder = audio = None
        with tqdm(total=self.total, unit="frame", disable=not progress, file=sys.stderr, dynamic_ncols=True) as bar:
            try:
                while (item := self._get(self.stylized)) is not _END:
                    out, (pts, duration), rotation = item
                    t = time.perf_counter()
                    if encoder is None:
                        encoder = Encoder(output, self.container.streams.video[0], self.size, crf=crf, preset=preset,
                                          rotation=rotation)
                        audio = AudioCopy(self.src, output)
                    if pts is not None:
                        audio.mux_until(float(pts * encoder.time_base))
                    encoder.encode(out, pts, duration)
                    self.stages.seconds["encode"] += time.perf_counter() - t
                    self.stages.frames += 1
                    bar.update()
                if self.error is not None:
                    raise self.error
                if encoder is None:
                    raise BrushworkError(f"{self.src}: no video frame could be decoded; is the file complete?")
                encoder.flush()
                audio.mux_until(None)
            finally:
                if audio is not None:
                    audio.close()
