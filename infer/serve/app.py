"""The `brushwork serve` web app: one page and a small HTTP API over the torch-free runtime (Starlette).

    GET  /styles                 the styles, each with a thumbnail URL
    POST /stylize                form: file, style, strength, preserve_color, stroke -> the stylized image
    POST /jobs                   form: file (a video), style, strength, preserve_color, stroke -> {"id": ...} (202)
    GET  /jobs/{id}              progress: state, frames_done, frames_total, eta_seconds
    GET  /jobs/{id}/result       the stylized video (H.264 mp4, audio copied)
    DELETE /jobs/{id}            cancel a job, or delete its result
    GET  /openapi.json           the schema of the above

Every error is JSON `{"error": "one line"}`; details of an unexpected failure go to the server's log only.
"""

from __future__ import annotations

import asyncio
import functools
import io
import sys
import traceback
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.schemas import SchemaGenerator

from ... import BrushworkError, __version__
from ...choices import COLOR_METHODS
from ..look.post import finish
from ..web.runtime import PUBLIC_URL, VERSION, runtime_files
from ..web.site import ISOLATION, STATIC
from .access import Access
from .catalogue import Catalogue
from .config import ServeConfig
from .errors import ServeError, echo
from .jobs import Jobs
from .runner import Runner, Slots
from .uploads import new_folder, open_picture, probe_video, read_form, remove
from .workdir import make_work_folder

PAGE = Path(__file__).resolve().parent / "static" / "index.html"
OUTPUT_FORMATS = {"JPEG": ("JPEG", "image/jpeg", "jpg"), "WEBP": ("WEBP", "image/webp", "webp")}  # else PNG
SCHEMA = SchemaGenerator({"openapi": "3.0.0", "info": {"title": "brushwork", "version": __version__}})


class Server:
    """What the endpoints share: the work folder, the model thread, the styles and the jobs."""

    def __init__(self, config: ServeConfig):
        self.config = config
        self.work, removed = make_work_folder(config.work_dir)
        for folder in removed:
            print(f"brushwork serve: removed {folder}, left by a server that was killed", file=sys.stderr)
        self.runner = Runner(config.queue_size)
        self.uploads = Slots(config.max_uploads, "uploads are being received")
        self.catalogue = Catalogue(config)
        self.jobs = Jobs(self.runner, self.catalogue, config.keep_results_s, max_frames=config.max_frames,
                         max_results_bytes=config.max_results_bytes)
        # the onnxruntime-web files Live may fetch (--web-runtime), listed once: the folder is checked at start-up
        self.web_runtime = {p.name: p for p in runtime_files(config.web_runtime)} if config.web_runtime else {}

    def close(self) -> None:
        self.jobs.close()
        self.runner.shutdown()
        remove(self.work)


def endpoint(fn):
    """Every error becomes a one-line JSON answer; an unexpected one is logged here and told as a 500."""
    @functools.wraps(fn)
    async def wrapper(request):
        try:
            return await fn(request, request.app.state.server)
        except ServeError as e:
            return JSONResponse({"error": e.message}, e.status, headers=e.headers)
        except BrushworkError as e:
            return JSONResponse({"error": str(e)}, 422)
        except Exception:  # noqa: BLE001 - never a stack trace in a response
            traceback.print_exc()
            return JSONResponse({"error": "internal error; the server log has the details"}, 500)

    return wrapper


@endpoint
async def page(request, server: Server):
    # cross-origin isolated: Live's onnxruntime-web gets SharedArrayBuffer, so WASM runs on several threads
    return FileResponse(PAGE, media_type="text/html", headers=ISOLATION)


@endpoint
async def live_config(request, server: Server):
    """Where the page's Live loads onnxruntime-web from: this server (--web-runtime) or the pinned public URL."""
    runtime = "/web/ort/" if server.config.web_runtime else PUBLIC_URL
    return JSONResponse({"runtime": runtime, "version": VERSION})


@endpoint
async def web_file(request, server: Server):
    """live.js, and with --web-runtime the runtime's own files (only those a page needs)."""
    name = request.path_params["name"]
    if name == "live.js":
        return FileResponse(STATIC / "live.js", media_type="text/javascript", headers=ISOLATION)
    files = server.web_runtime
    if request.path_params.get("folder") != "ort" or name not in files:
        raise ServeError(404, f"GET {echo(request.url.path)}: no such file" + (
            "" if files else " (this server has no --web-runtime: the page loads onnxruntime-web from its public URL)"))
    kind = "application/wasm" if name.endswith(".wasm") else "text/javascript"
    # the runtime's worker scripts must be isolated too, or an isolated page may not start them
    return FileResponse(files[name], media_type=kind, headers={"Cache-Control": "max-age=86400", **ISOLATION})


@endpoint
async def model_file(request, server: Server):
    """A style's model for Live: its student where it ships one (real time), else its full network."""
    name = server.catalogue.check(request.path_params["name"])
    return FileResponse(server.catalogue.live_model(name), media_type="application/octet-stream",
                        headers={"Cache-Control": "max-age=3600"})


@endpoint
async def styles(request, server: Server):
    """
    summary: The styles this server offers (shipped styles, then each .onnx in --models).
    responses: {200: {description: '{"styles": [{"name", "title", "artist", "source", "thumbnail"}]}'}}
    """
    return JSONResponse({"styles": server.catalogue.public()})


@endpoint
async def thumbnail(request, server: Server):
    name = server.catalogue.check(request.path_params["name"])
    data = server.catalogue.cached_thumbnail(name)
    if data is None:
        server.runner.reserve()
        data = await asyncio.wrap_future(server.runner.submit(server.catalogue.make_thumbnail, name))
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})


@endpoint
async def stylize(request, server: Server):
    """
    summary: Stylize one image. Form fields file (the image), style, strength (0-1), preserve_color
      (luminance or histogram), stroke (1 = the same stroke size against the picture at any size, 2 = twice as large,
      native = the network at full resolution; the server's --stroke if left out). Returns the image in the same
      format (JPEG, WebP) or PNG, without metadata.
    responses: {200: {description: the stylized image}, 413: {description: upload too large},
      422: {description: not a readable image, too many pixels, bad option}, 429: {description: queue full}}
    """
    folder = new_folder(server.work)
    try:
        fields, path = await receive(request, server, folder)
        style, post, stroke = server.catalogue.check(fields.get("style")), look(fields), stroke_of(fields, server)
        frame, fmt = await run_in_threadpool(open_picture, path, server.config.max_pixels)
        remove(folder)
        server.runner.reserve()  # a model place only for an upload that has arrived whole: uploading takes none
        future = server.runner.submit(_stylize_frame, server.catalogue, style, frame, post, stroke)
        out = await asyncio.wrap_future(future)
    finally:
        remove(folder)
    body, media_type, ext = await run_in_threadpool(encode, out, fmt)
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'inline; filename="stylized.{ext}"'})


async def receive(request, server: Server, folder: Path) -> tuple[dict[str, str], Path]:
    """The upload, read into `folder` in one of the --max-uploads places (429 when all are taken)."""
    with server.uploads.take():
        return await read_form(request, folder, server.config.max_upload_bytes)


def _stylize_frame(catalogue: Catalogue, style: str, frame, post, stroke: float | None):
    stylizer, _ = catalogue.plan(style, *frame.shape[:2], batch=1, stroke=stroke)
    return finish(post, frame, stylizer(frame))


@endpoint
async def create_job(request, server: Server):
    """
    summary: Start stylizing a video (form fields as for /stylize). Audio is copied; the result is an mp4.
    responses: {202: {description: '{"id": ..., "status": "/jobs/{id}"}'}, 413: {description: too large},
      422: {description: not a readable video}, 429: {description: queue full}}
    """
    folder, started = new_folder(server.work), False
    try:
        fields, path = await receive(request, server, folder)
        style, post, stroke = server.catalogue.check(fields.get("style")), look(fields), stroke_of(fields, server)
        total, height, width = await run_in_threadpool(probe_video, path, server.config.max_pixels)
        server.runner.reserve()
        try:
            job = server.jobs.start(folder, total, (height, width), style, post, stroke)
        except BaseException:
            server.runner.release()
            raise
        started = True
    finally:
        if not started:
            remove(folder)
    return JSONResponse(job.progress() | {"status": f"/jobs/{job.id}"}, 202)


@endpoint
async def job_status(request, server: Server):
    """
    summary: GET a job's progress (state, frames_done, frames_total, eta_seconds); DELETE cancels it or drops
      its result.
    responses: {200: {description: progress}, 404: {description: no such job}}
    """
    if request.method == "DELETE":
        job = server.jobs.delete(request.path_params["id"])
        return JSONResponse(job.progress() | {"state": "deleted", "result": None})
    return JSONResponse(server.jobs.get(request.path_params["id"]).progress())


@endpoint
async def job_result(request, server: Server):
    """
    summary: The stylized video of a finished job (mp4).
    responses: {200: {description: video/mp4}, 404: {description: no such job}, 409: {description: not done}}
    """
    job = server.jobs.get(request.path_params["id"])
    if job.state != "done":
        raise ServeError(409, f"job {job.id} is {job.state}" + (f": {job.error}" if job.error else
                                                                 f" ({job.done} frames done)"))
    return FileResponse(job.result, media_type="video/mp4", filename="stylized.mp4")


async def openapi(request):
    return JSONResponse(SCHEMA.get_schema(request.app.routes))


def look(fields: dict[str, str]):
    """strength and preserve_color form fields -> the (frame, stylized) post-processing, as `stylize` does it."""
    from ..look.post import make_post

    try:
        strength = float(fields.get("strength") or 1.0)
    except ValueError:
        strength = -1.0
    if not 0.0 <= strength <= 1.0:
        raise ServeError(422, f"strength {echo(fields.get('strength'))}: give a number between 0 and 1")
    preserve = fields.get("preserve_color") or None
    if preserve not in (None, *COLOR_METHODS):
        raise ServeError(422, f"preserve_color {echo(preserve)}: give luminance or histogram (or leave it out)")
    return make_post(preserve, strength)


def stroke_of(fields: dict[str, str], server: Server) -> float | None:
    """The stroke form field (or the server's --stroke) -> a stroke size, None for native; 422 for a bad one."""
    from ..engine.stroke import parse_stroke

    try:
        return parse_stroke(fields.get("stroke") or server.config.stroke)
    except BrushworkError:
        raise ServeError(422, f"stroke {echo(fields.get('stroke'))}: give a number from 0.05 to 20 (1 = the "
                              "default size) or native") from None


def encode(frame, fmt: str | None) -> tuple[bytes, str, str]:
    """The result as JPEG or WebP when the upload was one, else PNG: (bytes, media type, extension)."""
    from PIL import Image

    pil_format, media_type, ext = OUTPUT_FORMATS.get(fmt or "", ("PNG", "image/png", "png"))
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, pil_format, **({"quality": 92} if pil_format != "PNG" else {}))
    return buffer.getvalue(), media_type, ext


async def not_found(request, exc: HTTPException):
    """404 and 405 as one-line JSON; a 405 keeps Starlette's Allow header (the methods the path takes)."""
    return JSONResponse({"error": f"{request.method} {echo(request.url.path)}: {exc.detail}"}, exc.status_code,
                        headers=exc.headers)


def create_app(config: ServeConfig | None = None) -> Starlette:
    """The ASGI app; `app.state.server.work` is its work folder, removed when the app stops."""
    server = Server(config or ServeConfig())

    @asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            await run_in_threadpool(server.close)

    app = Starlette(routes=[
        Route("/", page), Route("/styles", styles), Route("/styles/{name}/thumbnail.jpg", thumbnail),
        Route("/stylize", stylize, methods=["POST"]), Route("/jobs", create_job, methods=["POST"]),
        Route("/jobs/{id}", job_status, methods=["GET", "DELETE"]), Route("/jobs/{id}/result", job_result),
        Route("/openapi.json", openapi, include_in_schema=False),
        Route("/live.json", live_config, include_in_schema=False),
        Route("/web/{name}", web_file, include_in_schema=False),
        Route("/web/{folder}/{name}", web_file, include_in_schema=False),
        Route("/styles/{name}/model.onnx", model_file, include_in_schema=False),
    ], exception_handlers={HTTPException: not_found}, lifespan=lifespan)
    app.state.server = server
    return Access(app, bound=server.config.host, allowed_hosts=server.config.allowed_host, token=server.config.token)
