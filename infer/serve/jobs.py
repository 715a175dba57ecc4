"""Video jobs for `brushwork serve`: queued on the model thread, with progress, ETA, cancel and clean-up.

A job owns one folder in the work folder: the upload, then the result. The upload goes as soon as the job ends;
the result stays until DELETE /jobs/{id}, until it is `keep_results_s` old, or until the server stops. A failed
or cancelled job leaves nothing.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ... import BrushworkError
from ..look.post import finish
from .errors import ServeError
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
                "eta_seconds": eta, "error": self.error,
                "result": f"/jobs/{self.id}/result" if self.state == "done" else None}


class Jobs:
    def __init__(self, runner: Runner, catalogue, keep_results_s: float):
        self.runner, self.catalogue, self.keep_results_s = runner, catalogue, keep_results_s
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, folder: Path, total: int, style: str, post) -> Job:
        """Queue the video folder/upload (a place in the runner is already reserved by the caller)."""
        job = Job(uuid.uuid4().hex[:16], folder, total)
        with self._lock:
            self.jobs[job.id] = job
        self.runner.submit(self._run, job, style, post)
        return job

    def get(self, job_id: str) -> Job:
        self.expire()
        job = self.jobs.get(job_id)
        if job is None:
            raise ServeError(404, f"no job {job_id!r} (finished results are kept {self.keep_results_s:.0f} s)")
        return job

    def delete(self, job_id: str) -> Job:
        """Cancel a queued or running job, or drop a finished one and its result."""
        job = self.get(job_id)
        job.cancel.set()
        if job.state in ("done", "failed", "cancelled"):
            self._forget(job)
        return job  # a running job removes its own files as it stops

    def expire(self) -> None:
        now = time.monotonic()
        for job in list(self.jobs.values()):
            if job.ended is not None and now - job.ended > self.keep_results_s:
                self._forget(job)

    def close(self) -> None:
        """Server stop: cancel everything and remove every job's files."""
        for job in list(self.jobs.values()):
            job.cancel.set()
        for job in list(self.jobs.values()):
            if job.state != "running":
                self._forget(job)

    def _forget(self, job: Job) -> None:
        with self._lock:
            self.jobs.pop(job.id, None)
        remove(job.folder)

    def _run(self, job: Job, style: str, post) -> None:
        from ..media.video import stylize_video

        if job.cancel.is_set():
            return self._end(job, "cancelled")
        job.state, job.started = "running", time.monotonic()
        stylizer = self.catalogue.stylizer(style)

        def stylize_batch(frames):
            if job.cancel.is_set():
                raise Cancelled()
            return stylizer.batch(frames)

        def count(frame, stylized):
            job.done += 1
            return finish(post, frame, stylized)

        try:
            stylize_video(job.folder / "upload", job.result, stylize_batch, count, progress=False, preset="veryfast")
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
