"""The training loop behind `brushwork train`: fit(cfg) trains, checkpoints and resumes one run.

    brushwork train --style starry.jpg --data photos/ --out runs/
    torchrun --nproc-per-node 2 -m brushwork train --style starry.jpg --data photos/ --out runs/

The run directory OUT/NAME holds config.yaml, TensorBoard events, samples/*.png, checkpoints/step_XXXXXXX.pt
(the last --keep-last) and, at the end, model.pt (what `brushwork export` reads); models/run_layout.py knows the
names. A run resumes exactly where its newest checkpoint left off: weights, Adam moments, AMP scaler, step and data
position; every random draw (crops, photo order, the stability loss noise) is seeded from (seed, step or
position), so nothing depends on when the process started. Ctrl-C or SIGTERM (on any rank) saves a checkpoint
first and exits 128 + the signal's number (130, 143). Under DDP every rank takes the same branch: they agree on
signals and on a NaN loss before any collective that one of them would otherwise leave the others waiting in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .. import BrushworkError
from ..data.files import atomic_write
from ..data.photos import PhotoDataset, PhotoSampler, make_loader, scan_photos, validation_batch
from ..models import run_layout
from ..models.checkpoint import save_checkpoint
from ..models.transformer_net import build_transformer
from ..models.vgg import build_vgg
from . import distributed
from .budget import Budget, parse_duration
from .config import TrainConfig, dump_yaml
from .distill import DistillLoss, load_teacher
from .ema import WeightAverage
from .losses import PerceptualLoss, balanced_style_weight
from .monitor import Monitor
from .precision import DTYPES, FP16_INIT_SCALE, NAMES, amp_dtype, choose
from .resume import check_writable, find_resume, load_resume
from .rng import rng_state, set_rng_state
from .schedule import learning_rate
from .signals import StopSignal
from .style import load_style
from .warm_start import apply_init, load_init

UNPLANNED = 10**9  # the step count of a --time-budget run before its speed is measured


class Diverged(BrushworkError):
    """A loss became NaN or infinite; the model of that step is never saved."""


@dataclass
class FitResult:
    run_dir: Path
    step: int
    model_path: Path | None
    interrupted: bool = False
    signal: int | None = None  # the signal that stopped the run (on any rank), for the exit status 128 + N


# ---------------------------------------------------------------------------------------------- the train step
def make_adam(params, lr: float) -> torch.optim.Optimizer:
    """Fused Adam (one kernel for all parameters) where this torch has it for the device, else foreach."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


class Trainer:
    """The transformation network, its optimizer and its loss (perceptual against a painting, or a teacher's
    pictures when distilling); step(batch) is one Adam step."""

    def __init__(self, cfg: TrainConfig, device: torch.device, style: torch.Tensor | None, *,
                 ctx: distributed.Context | None = None, teacher: nn.Module | None = None):
        self.cfg, self.device = cfg, device
        self.ctx = ctx or distributed.Context(device=device)
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        torch.manual_seed(cfg.seed)  # identical initial weights on every rank and every run
        self.model = build_transformer(cfg.arch).to(device, memory_format=self.memory_format)
        self.dtype = amp_dtype(cfg.amp, device)
        frozen = build_vgg(cfg.vgg_weights) if teacher is None else teacher
        frozen.to(device, memory_format=self.memory_format)
        if teacher is None:  # the painting's Gram targets are constants: computed here, in float32, by a float32 VGG
            self.loss = PerceptualLoss(frozen, [style.to(device)], content_layers=cfg.content_layers,
                                       style_layers=cfg.style_layers, content_weight=cfg.content_weight,
                                       style_weight=cfg.style_weight or 1.0, tv_weight=cfg.tv_weight)
        else:
            self.loss = DistillLoss(frozen)
        # Only then does the frozen network move to the autocast dtype (its weights; the loss's targets are buffers
        # of the loss, not of the network, and stay float32): autocast re-casts frozen weights on every call (its
        # cache holds only trainable leaves), so three VGG passes a step would each convert ~8M weights. From here
        # on the frozen network runs only under autocast (self.autocast()).
        if self.dtype is not None:
            frozen.to(self.dtype)
        self.scaler = torch.amp.GradScaler(device.type, init_scale=FP16_INIT_SCALE,
                                           enabled=self.dtype == torch.float16)
        self.optimizer = make_adam(self.model.parameters(), cfg.lr)
        self.ema = WeightAverage(cfg.ema) if cfg.ema else None
        self.net: nn.Module = self.model
        if self.ctx.distributed:
            ids = [device.index] if device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        if cfg.compile:
            self.net = torch.compile(self.net)
            if teacher is None:
                self.loss.vgg = torch.compile(frozen)
        self.generator = torch.Generator(device=device)

    def to_input(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 (B,3,H,W) -> float [0,1] on the device, in the chosen memory layout."""
        x = batch.to(self.device, non_blocking=True).float().div_(255)
        return x.contiguous(memory_format=self.memory_format)

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None)

    def losses(self, x: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total loss and every term (weighted terms by name, raw per-layer terms as 'style/relu1_2')."""
        with self.autocast():
            if isinstance(self.loss, DistillLoss):
                y = self.net(x)
                total = self.loss(y, self.loss.targets(x))
                parts = {"l1": total}
            else:
                targets = self.loss.content_targets(x)  # a truncated VGG pass: only up to relu2_2
                y = self.net(x)
                terms = self.loss(y, targets)
                parts = {"content": terms.content, "style": terms.style, "tv": terms.tv, **terms.per_layer}
                total = terms.total
            if self.cfg.temporal_weight > 0:
                from .stability import stability_loss

                self.generator.manual_seed(hash((self.cfg.seed, step)) & 0x7FFF_FFFF)
                temporal = stability_loss(self.net, x, generator=self.generator, stylized=y)
                parts["temporal"] = self.cfg.temporal_weight * temporal
                total = total + parts["temporal"]
        return total, parts

    def step(self, batch: torch.Tensor, step: int, lr: float | None = None) -> dict[str, float]:
        """One optimizer step on a uint8 batch at learning rate `lr` (default: as configured); returns the loss
        terms as floats. Diverged on NaN/inf on any rank, raised by every rank before the gradient all-reduce."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.lr if lr is None else lr
        total, parts = self.losses(self.to_input(batch), step)
        scalars = {"total": float(total.detach()), **{k: float(v.detach()) for k, v in parts.items()}}
        bad = [(rank, v) for rank, v in enumerate(distributed.every_rank(scalars["total"], self.ctx))
               if not math.isfinite(v)]
        if bad:
            rank, value = bad[0]
            where = f" on rank {rank}" if self.ctx.distributed else ""
            raise Diverged(f"the loss became {value} at step {step}{where}")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if self.cfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update(self.model)
        return scalars

    @torch.no_grad()
    def stylize(self, batch: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return self.model(self.to_input(batch)).float()

    def state(self) -> dict:
        ema = {"ema": self.ema.state_dict()} if self.ema is not None else {}
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(), "rng": rng_state(), **ema}

    def deployable(self) -> dict:
        """The weights a finished model ships: the average with --ema, else the trained ones."""
        return self.ema.like(self.model) if self.ema is not None else self.model.state_dict()

    def load_state(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt["model"])
        if self.ema is not None and ckpt.get("ema"):
            self.ema.load_state_dict(ckpt["ema"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        if ckpt.get("rng"):
            set_rng_state(ckpt["rng"])

    def balance_style(self, photos: torch.Tensor) -> float:
        """Set the style weight from --style-balance on these uint8 photos; returns it."""
        with self.autocast():
            weight = balanced_style_weight(self.loss, self.to_input(photos), self.cfg.style_balance)
        self.loss.style_weight = self.cfg.style_weight = weight
        return weight

    def weights_finite(self) -> bool:
        return all(torch.isfinite(p).all() for p in self.model.parameters())


# ---------------------------------------------------------------------------------------------- fit
def total_steps(cfg: TrainConfig, num_photos: int, world_size: int) -> int:
    if cfg.epochs is None:
        return cfg.steps
    return max(1, math.ceil(cfg.epochs * num_photos / (cfg.batch_size * world_size)))


def fit(cfg: TrainConfig) -> FitResult:
    """Train (or continue) the run cfg describes; returns where it stopped and the model file if it finished."""
    cfg.with_default_weights()
    ctx = distributed.setup(cfg.device)
    try:
        result = Run(cfg, ctx).train()
        # Every rank has written and closed what it had (rank 0's checkpoint and TensorBoard files take longest): meet
        # before the process group is torn down, or a rank that tears down first can abort in gloo's threads (exit -6,
        # "terminate called without an active exception", seen once in CI after a SIGTERM stop).
        distributed.barrier(ctx)
        return result
    finally:
        distributed.cleanup(ctx)


class Run:
    """One run: set-up from the config and checkpoint, then the step loop with its cadences."""

    def __init__(self, cfg: TrainConfig, ctx: distributed.Context):
        self.cfg, self.ctx, self.run_dir = cfg, ctx, cfg.run_dir
        self.photos = scan_photos(cfg.data, quiet=not ctx.is_main)
        style, teacher, self.teacher_info = None, None, None
        if cfg.teacher:
            teacher, self.teacher_info = load_teacher(cfg.teacher)
            self.style_info = self.teacher_info.pop("style")
        else:
            style, self.style_info = load_style(cfg.style, cfg.style_size)
        if ctx.is_main:
            check_writable(self.run_dir)
        resume = find_resume(cfg)
        ckpt = load_resume(resume, cfg) if resume is not None else None
        self.precision_note = self._decide_precision(ckpt)
        self.total = total_steps(cfg, len(self.photos), ctx.world_size)
        self.trainer = Trainer(cfg, ctx.device, style, ctx=ctx, teacher=teacher)
        self.step, self.last_ckpt, self.init_info = 0, None, None
        self.signum = 0  # the signal that stopped the loop, agreed by all ranks
        budget_state = self._start_from(resume, ckpt)
        if cfg.style_weight is None and teacher is None:
            self.trainer.balance_style(validation_batch(self.photos, cfg.image_size, count=16))
        self.budget = None
        if cfg.time_budget:
            self.budget = Budget(parse_duration(cfg.time_budget), elapsed=budget_state.get("elapsed", 0.0),
                                 planned=budget_state.get("planned"), replan_every=cfg.log_every)
            self.total = self.budget.planned or UNPLANNED
        self.sampler = PhotoSampler(len(self.photos), seed=cfg.seed, rank=ctx.rank, world_size=ctx.world_size,
                                    start=self.step * cfg.batch_size)
        self.val = validation_batch(self.photos, cfg.image_size)
        if ctx.is_main:
            atomic_write(run_layout.config_path(self.run_dir), lambda f: f.write(dump_yaml(cfg).encode()))

    def _decide_precision(self, ckpt: dict | None) -> str:
        """Resolve --amp once for the whole run and write it into the config (so config.yaml and every checkpoint
        record it): a resumed `auto` run keeps its checkpoint's precision; otherwise rank 0 decides (auto times
        the CPU, which load sways) and the other ranks take its answer. Returns the line that says so."""
        cfg, asked = self.cfg, self.cfg.amp
        recorded = (ckpt or {}).get("config", {}).get("amp")
        if asked == "auto" and recorded in DTYPES:
            cfg.amp = recorded
            return f"precision: {NAMES[DTYPES[recorded]]} (recorded in the checkpoint)"
        name, why = choose(asked, self.ctx.device) if self.ctx.is_main else ("off", "")
        cfg.amp = list(DTYPES)[distributed.from_main(list(DTYPES).index(name), self.ctx)]
        note = f"precision: {NAMES[DTYPES[cfg.amp]]} (--amp {asked}: {why})"
        if recorded in DTYPES and recorded != cfg.amp:
            note += f"; the checkpoint was trained in {NAMES[DTYPES[recorded]]}"
        return note

    def _start_from(self, resume: Path | None, ckpt: dict | None) -> dict:
        """Continue a checkpoint (weights, optimizer, step, RNG) or take --init's weights; returns the saved
        --time-budget state of a resumed run."""
        if resume is not None:
            self.trainer.load_state(ckpt)
            self.step, self.last_ckpt, self.init_info = int(ckpt["step"]), resume, ckpt.get("init")
            return ckpt.get("budget") or {}
        if self.cfg.init:
            state, self.init_info = load_init(self.cfg.init, self.cfg.arch)
            apply_init(self.trainer.model, state, self.cfg.init)
        return {}

    def train(self) -> FitResult:
        cfg, ctx = self.cfg, self.ctx
        monitor = Monitor(self.run_dir, total_steps=None if self.total == UNPLANNED else self.total,
                          start_step=min(self.step, self.total),
                          log_every=cfg.log_every, enabled=ctx.is_main)
        monitor.message(self.precision_note)
        if self.last_ckpt is not None:
            monitor.message(f"resuming {self.run_dir} from {self.last_ckpt.name} (step {self.step})")
        elif self.init_info:
            monitor.message(f"starting from the weights of {cfg.init} ({self.init_info['path']})")
        if self.teacher_info:
            monitor.message(f"distilling {cfg.teacher} ({self.teacher_info['arch']}) into {cfg.arch}")
        else:
            monitor.message(f"loss weights: content {cfg.content_weight:.4g}, style {cfg.style_weight:.4g}, "
                            f"tv {cfg.tv_weight:.4g}")
        photos = PhotoDataset(self.photos, cfg.image_size, cfg.crop_area)
        loader = make_loader(photos, self.sampler, batch_size=cfg.batch_size, workers=cfg.workers,
                             pin_memory=ctx.device.type == "cuda")
        try:
            with StopSignal() as stop:
                stopped = self._loop(iter(loader), monitor, stop)
            if stopped:
                path = self.save_checkpoint()
                monitor.message(f"stopped at step {self.step}; saved {path}; run the same command to resume")
                return FitResult(self.run_dir, self.step, None, interrupted=True, signal=self.signum)
            if self.last_ckpt != run_layout.checkpoint_path(self.run_dir, self.step):
                self.save_checkpoint()  # the final state, so `--steps MORE` can continue this run
            model_path = self.save_model()
            monitor.message(f"done: {self.step} steps; model saved to {model_path}")
            return FitResult(self.run_dir, self.step, model_path)
        except Diverged as e:
            # Every rank is here (they agreed on it): meet before the process group is torn down, or the first rank
            # to leave can abort the other's gloo threads ("terminate called without an active exception").
            distributed.barrier(self.ctx)
            last = self.last_ckpt or "none yet"
            raise Diverged(f"{e}; stopping without saving it (last good checkpoint: {last}); "
                           "try a lower --lr, --grad-clip 1, or --amp off") from None
        finally:
            monitor.close()

    def _loop(self, batches, monitor: Monitor, stop: StopSignal) -> bool:
        """Train until the last step; True if a signal (on any rank) asked to stop early."""
        cfg = self.cfg
        while self.step < self.total:
            batch = stop.next_batch(batches)
            # One collective per step that every rank reaches: all stop together, or none does.
            self.signum = distributed.max_over_ranks(stop.signum or 0, self.ctx)
            if self.signum:
                return True
            lr = learning_rate(self.step + 1, self.total, base=cfg.lr, kind=cfg.lr_schedule,
                               warmup=min(cfg.warmup_steps, self.total // 10))
            scalars = self.trainer.step(batch, self.step + 1, lr)
            self.step += 1
            self._follow_budget(monitor)
            monitor.step(self.step, scalars, batch.shape[0] * self.ctx.world_size, lr)
            if self.step % cfg.sample_every == 0 or self.step == self.total:
                monitor.sample(self.step, self.val, self.trainer.stylize(self.val))
            if self.step % cfg.ckpt_every == 0:
                self.save_checkpoint()
        return False

    def _follow_budget(self, monitor: Monitor) -> None:
        """Under --time-budget: adopt a new plan when one is made, and end the run when the time is up."""
        if self.budget is None:
            return
        planned = self.budget.after_step(self.step)
        if planned is not None:
            self.total = max(planned, self.step)
        if distributed.any_rank(self.budget.over(), self.ctx):
            self.total = self.step
        monitor.set_total(None if self.total == UNPLANNED else self.total)

    def _common(self) -> dict:
        # The output bound is recorded: checkpoints without it load unbounded (models/checkpoint.py arch_kwargs).
        common = {"arch": self.cfg.arch, "arch_kwargs": {"output": self.trainer.model.output}, "step": self.step,
                  "config": self.cfg.to_dict(), "style": self.style_info, "init": self.init_info}
        if self.teacher_info:
            common["teacher"] = self.teacher_info
        if self.budget is not None:
            common["budget"] = self.budget.state()
        return common

    def save_checkpoint(self) -> Path:
        """Rank 0 writes checkpoints/step_XXXXXXX.pt atomically and prunes to --keep-last."""
        path = run_layout.checkpoint_path(self.run_dir, self.step)
        self._check_weights()
        if self.ctx.is_main:
            state = self.trainer.state()
            position = self.sampler.position(self.step * self.cfg.batch_size)
            save_checkpoint(path, {"kind": "checkpoint", **self._common(), **state, "data_position": position})
            for old in run_layout.checkpoints(self.run_dir)[: -self.cfg.keep_last]:
                old.unlink(missing_ok=True)
        distributed.barrier(self.ctx)
        self.last_ckpt = path
        return path

    def _check_weights(self) -> None:
        """Diverged, on every rank alike, if the weights are not finite on any rank."""
        if distributed.any_rank(not self.trainer.weights_finite(), self.ctx):
            raise Diverged(f"the weights became NaN/inf by step {self.step}")

    def save_model(self) -> Path | None:
        """model.pt: the weights, architecture, config and style; what `brushwork export` reads."""
        path = run_layout.model_path(self.run_dir)
        self._check_weights()
        if self.ctx.is_main:
            save_checkpoint(path, {"kind": "model", **self._common(), "model": self.trainer.deployable()})
        distributed.barrier(self.ctx)
        return path
