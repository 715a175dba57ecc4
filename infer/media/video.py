"""Stylizing video: frames as a generator, and a threaded decode -> stylize -> post -> encode pipeline.

    from brushwork.infer import Stylizer, stylize_frames
    for frame, stylized in stylize_frames("clip.mp4", Stylizer("starry.onnx")):   # uint8 (H, W, 3) pairs
        ...
    stylize_video("in.mp4", "out.mp4", process)    # what `brushwork stylize in.mp4 -o out.mp4` runs

The pipeline keeps each frame's timestamp (so variable frame rate survives), the rotation metadata, and copies
every audio stream packet by packet (no re-encoding). Four threads (decode, model, post-processing, encode)
joined by bounded queues: memory stays flat on a two-hour video and the slowest stage sets the pace. The output
goes to a temp file beside the target and is renamed at the end, so an interrupted run leaves nothing under the
output name. Reading and writing the files themselves is infer/media/video_io.py.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ... import BrushworkError
from ...data.files import atomic_path
from ..look.post import finish
from .video_io import (
    AudioCopy,
    Encoder,
    decoded_frames,
    expected_frames,
    frame_sizes,
    open_input,
    read_frames,
    short_error,
)

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


def stylize_frames(path: str | os.PathLike, stylizer: Callable[[np.ndarray], np.ndarray], *,
                   max_side: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (frame, stylized frame) for each frame of a video, in order, one at a time (flat memory)."""
    for rgb in read_frames(path, max_side):
        yield rgb, stylizer(rgb)


def stylize_video(src: str | os.PathLike, dst: str | os.PathLike,
                  stylize_batch: Callable[[np.ndarray], np.ndarray],
                  post: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None, *,
                  prefetch: Callable[[np.ndarray], None] | None = None, batch_size: int = 4, crf: int = 18,
                  preset: str = "medium", max_side: int | None = None, progress: bool = True) -> Stages:
    """Stylize a video file into `dst` (written to a temp file beside it, renamed at the end).

    Args:
        stylize_batch: uint8 (N, H, W, 3) -> uint8 (N, H, W, 3), e.g. Stylizer.batch.
        post: (input frame, stylized frame) -> frame, called in frame order on its own thread (temporal
            blending, colour, strength).
        prefetch: called on each decoded input frame, in order, before the model sees it: work that needs only
            the input starts early (TemporalBlender.prefetch starts the optical flow).
    """
    import av

    src, dst = Path(src), Path(dst)
    container = open_input(src)
    try:
        with atomic_path(dst) as tmp:
            return _Pipeline(src, container, stylize_batch, post, prefetch, batch_size, max_side).run(
                str(tmp), crf=crf, preset=preset, progress=progress)
    except av.FFmpegError as e:
        raise BrushworkError(f"{dst}: writing the video failed ({short_error(e)}); try another container (.mp4, .mkv)"
                             ) from None
    finally:
        container.close()


class _Pipeline:
    """decode thread -> queue -> stylize thread -> queue -> post thread -> queue -> encode (calling thread)."""

    def __init__(self, src: Path, container, stylize_batch, post, prefetch, batch_size: int, max_side: int | None):
        self.src, self.container, self.stylize_batch = src, container, stylize_batch
        self.post, self.prefetch = post, prefetch
        self.batch_size = max(1, batch_size)
        stream = container.streams.video[0]
        self.total = stream.frames or None
        self.decode_size, self.size = frame_sizes(stream.width, stream.height, max_side)
        self.stages = Stages()
        if self.size != self.decode_size:
            (w, h), (ew, eh) = self.decode_size, self.size
            dropped = " and ".join(side for side, odd in (("column", ew != w), ("row", eh != h)) if odd)
            self.stages.warnings.append(f"{w}x{h} has an odd side, which H.264 and VP9 (yuv420p) cannot encode: "
                                        f"the output is {ew}x{eh}, without the last {dropped}")
        self.decoded: queue.Queue = queue.Queue(maxsize=2 * self.batch_size)
        self.stylized: queue.Queue = queue.Queue(maxsize=2 * self.batch_size)
        self.finished: queue.Queue = queue.Queue(maxsize=2 * self.batch_size)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.decoded_count = 0

    def run(self, tmp: str, *, crf: int, preset: str, progress: bool) -> Stages:
        import av

        start = time.perf_counter()
        threads = [threading.Thread(target=self._guard, args=(f,), daemon=True)
                   for f in (self._decode_loop, self._stylize_loop, self._post_loop)]
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
            for rgb, frame in decoded_frames(self.container, self.decode_size, self.stages.warnings):
                if self.prefetch is not None:
                    self.prefetch(rgb)  # on this thread, so its time counts as decoding
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
        t = time.perf_counter()
        outs = self.stylize_batch(np.stack([rgb for rgb, _, _ in items]))
        self.stages.seconds["stylize"] += time.perf_counter() - t
        for (rgb, pts, rotation), out in zip(items, outs):
            if not self._put(self.stylized, (rgb, out, pts, rotation)):
                return

    def _post_loop(self) -> None:
        try:
            while (item := self._get(self.stylized)) is not _END:
                rgb, out, pts, rotation = item
                t = time.perf_counter()
                out = finish(self.post, rgb, out)
                self.stages.seconds["post"] += time.perf_counter() - t
                if not self._put(self.finished, (out, pts, rotation)):
                    return
        finally:
            self._put(self.finished, _END)

    def _encode_loop(self, output, crf: int, preset: str, progress: bool) -> None:
        from tqdm import tqdm

        encoder = audio = None
        with tqdm(total=self.total, unit="frame", disable=not progress, file=sys.stderr, dynamic_ncols=True) as bar:
            try:
                while (item := self._get(self.finished)) is not _END:
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
