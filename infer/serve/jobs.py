"""Video jobs for `brushwork serve`: one at a time, with progress, ETA, warnings, cancel and clean-up.

A job's pipeline (decode, post-process, encode) runs on the jobs' own thread and hands the model one batch at a time
to the model thread, so an image request waits for one batch, not for the whole video. A job holds one place of
the model queue from its start to its end, and may run at most --max-frames frames.

A job owns one folder in the work folder: the upload, then the result. The upload goes as soon as the job ends;
the result stays until DELETE /jobs/{id}, until it is `keep_results_s` old (a timer checks), until the results
together pass --max-results (the oldest go first), or until the server stops. A failed or cancelled job leaves
nothing.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ... import BrushworkError
from ..look.post import finish
from .errors import ServeError, echo
from .runner import Runner
from .uploads import remove


class Cancelled(Exception):
    """Raised inside the video pipeline when its job is cancelled: the pipeline stops and removes its temp file."""


@dataclass
class Job:
    id: str
    folder: Path
    total: int  # frames the header promises (0: unknown)
    state: str = "queued"  # queued | running | done | failed | cancelled
    done: int = 0
    error: str | None = None
    started: float | None = None
    ended: float | None = None
    warnings: list[str] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def result(self) -> Path:
        return self.folder / "result.mp4"

    def progress(self) -> dict:
        eta = None
        if self.state == "running" and self.done and self.total:
            elapsed = time.monotonic() - self.started
            eta = round(elapsed / self.done * max(self.total - self.done, 0), 1)
        return {"id": self.id, "state": self.state, "frames_done": self.done, "frames_total": self.total or None,
                "eta_seconds": eta, "error": self.error, "warnings": self.warnings,
                "result": f"/jobs/{self.id}/result" if self.state == "done" else None}


class Jobs:
    def __init__(self, runner: Runner, catalogue, keep_results_s: float, *, max_frames: int = 10**9,
                 max_results_bytes: int = 2**62):
        self.runner, self.catalogue, self.keep_results_s = runner, catalogue, keep_results_s
        self.max_frames, self.max_results_bytes = max_frames, max_results_bytes
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pipelines = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brushwork-jobs")
        self._closed = threading.Event()
        threading.Thread(target=self._expire_every, args=(min(60.0, max(keep_results_s / 4, 0.05)),),
                         name="brushwork-expire", daemon=True).start()

    def start(self, folder: Path, total: int, size: tuple[int, int], style: str, post,
              stroke: float | None = 1.0) -> Job:
        """Queue the video folder/upload (a place in the runner is already reserved by the caller, and held until
        the job ends)."""
        if total > self.max_frames:
            raise ServeError(422, f"the video has {total:,} frames; this server stylizes at most {self.max_frames:,} "
                                  "per job (--max-frames): send a shorter clip")
        job = Job(uuid.uuid4().hex[:16], folder, total)
        with self._lock:
            self.jobs[job.id] = job
        self._pipelines.submit(self._run_holding_place, job, size, style, post, stroke)
        return job

    def get(self, job_id: str) -> Job:
        self.expire()
        job = self.jobs.get(job_id)
        if job is None:
            raise ServeError(404, f"no job {echo(job_id)} (finished results are kept {self.keep_results_s:.0f} s)")
        return job

    def delete(self, job_id: str) -> Job:
        """Cancel a queued or running job, or drop a finished one and its result."""
        job = self.get(job_id)
        job.cancel.set()
        if job.state in ("done", "failed", "cancelled"):
            self._forget(job)
        return job  # a running job removes its own files as it stops

    def expire(self) -> None:
        """Forget results older than keep_results_s, then the oldest ones while all together pass
        max_results_bytes (the newest one always stays)."""
        now = time.monotonic()
        for job in list(self.jobs.values()):
            if job.ended is not None and now - job.ended > self.keep_results_s:
                self._forget(job)
        done = sorted((j for j in list(self.jobs.values()) if j.state == "done"), key=lambda j: j.ended)
        sizes = [j.result.stat().st_size if j.result.exists() else 0 for j in done]
        while len(done) > 1 and sum(sizes) > self.max_results_bytes:
            self._forget(done.pop(0))
            sizes.pop(0)

    def close(self) -> None:
        """Server stop: cancel everything and remove every job's files."""
        self._closed.set()
        for job in list(self.jobs.values()):
            job.cancel.set()
        self._pipelines.shutdown(wait=True, cancel_futures=True)
        for job in list(self.jobs.values()):
            self._forget(job)

    def _expire_every(self, seconds: float) -> None:
        while not self._closed.wait(seconds):
            self.expire()

    def _forget(self, job: Job) -> None:
        with self._lock:
            self.jobs.pop(job.id, None)
        remove(job.folder)

    def _run_holding_place(self, job: Job, size: tuple[int, int], style: str, post, stroke: float | None) -> None:
        try:
            self._run(job, size, style, post, stroke)
        finally:
            self.runner.release()

    def _run(self, job: Job, size: tuple[int, int], style: str, post, stroke: float | None) -> None:
        from ..media.video import stylize_video

        if job.cancel.is_set():
            return self._end(job, "cancelled")
        job.state, job.started = "running", time.monotonic()

        def stylize_batch(frames):  # on the model thread, one batch at a time: images get their turn between
            if job.cancel.is_set():
                raise Cancelled()
            if job.done + len(frames) > self.max_frames:  # the header promised fewer frames than the file holds
                raise BrushworkError(f"the video has more than {self.max_frames:,} frames (--max-frames)")
            return self.runner.call(stylizer.batch, frames)

        def count(frame, stylized):
            job.done += 1
            return finish(post, frame, stylized)

        try:
            stylizer, batch = self.runner.call(self.catalogue.plan, style, *size, 4, True, stroke)  # in --max-memory
            stages = stylize_video(job.folder / "upload", job.result, stylize_batch, count, progress=False,
                                   preset="veryfast", batch_size=batch)
            job.warnings = [w.replace(str(job.folder / "upload"), "the upload") for w in stages.warnings]
            self._end(job, "done")
        except Cancelled:
            self._end(job, "cancelled")
        except BrushworkError as e:
            self._end(job, "failed", str(e).replace(str(job.folder / "upload"), "the upload"))
        except Exception as e:  # noqa: BLE001 - the client gets one line; the server log gets the details
            import traceback

            traceback.print_exc()
            self._end(job, "failed", f"the video could not be stylized ({type(e).__name__})")

    def _end(self, job: Job, state: str, error: str | None = None) -> None:
        job.state, job.error, job.ended = state, error, time.monotonic()
        (job.folder / "upload").unlink(missing_ok=True)
        if state != "done" or job.cancel.is_set():  # nothing worth keeping: a cancelled job disappears
            job.result.unlink(missing_ok=True)
            if job.cancel.is_set():
                self._forget(job)
            else:
                remove(job.folder)  # a failed job's record stays for GET /jobs/{id} to show the error
        else:
            self.expire()  # a new result may push the others past --max-results
