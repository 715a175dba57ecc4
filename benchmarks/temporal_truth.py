"""Flicker measured with the TRUE motion: a generated clip whose optical flow is known exactly.

    python benchmarks/temporal_truth.py --model starry.onnx --background ../shared/data/content/tubingen.jpg \
        --object ../shared/data/content/golden_gate.jpg --style ../shared/data/styles/starry_night.jpg \
        --alpha 0.5 0.6 --variants 160:ultrafast 480:medium

Why: `brushwork evaluate-video` must estimate the flow it judges by (DIS medium on full frames). When the
temporal blend uses a similar flow, the blend and the measure agree on the same flow errors and the blend looks
better than it is; a different flow (Farneback) has larger errors of its own, which swamp every row. On a
generated clip there is no guessing: a camera pans and zooms over a photo while an elliptical cut-out of a
second photo slides across it (so there are occlusions), with a little sensor noise. The warping error is then
computed three ways: with the exact flow and exact occlusion mask, with the DIS measure of evaluate-video, and
with Farneback; plus the style loss per frame, as evaluate-video reports it.
"""

from __future__ import annotations

import argparse
import os
import sys

import cv2
import numpy as np

from brushwork.data.images import read_image
from brushwork.infer import Stylizer
from brushwork.infer.look.flow import warp
from brushwork.infer.look.temporal import TemporalBlender
from brushwork.train.evaluate.warping import WarpingError, warping_error

PAN, ZOOM = 1.7, 0.0015  # background: px per frame to the right, relative zoom per frame
OBJECT_VELOCITY = np.array([-2.6, 0.9])  # the cut-out's motion, px per frame (dx, dy)
NOISE = 2.0  # sensor noise, grey levels


class Scene:
    """The generated clip: frames and, for each pair, the exact backward flow and the pixels it is valid for."""

    def __init__(self, background: np.ndarray, obj: np.ndarray, width: int, height: int, seed: int = 0):
        # About one photo pixel per frame pixel: a much larger photo would alias (bilinear sampling without a
        # prefilter), and aliasing is change that no flow explains.
        ph, pw = background.shape[:2]
        fit = max(width * 1.7 / pw, height * 1.3 / ph)
        background = cv2.resize(background, (round(pw * fit), round(ph * fit)), interpolation=cv2.INTER_AREA)
        background = cv2.GaussianBlur(background, (0, 0), 0.8)  # a lens's softness: less interpolation error
        self.background, self.w, self.h = background.astype(np.float32), width, height
        ow, oh = width * 2 // 5, height * 2 // 5
        self.object = cv2.resize(obj, (ow, oh), interpolation=cv2.INTER_AREA).astype(np.float32)
        yy, xx = np.mgrid[0:oh, 0:ow]
        self.shape = ((xx - ow / 2 + 0.5) / (ow / 2)) ** 2 + ((yy - oh / 2 + 0.5) / (oh / 2)) ** 2 <= 1.0
        self.start = np.array([width * 0.62, height * 0.3])  # the cut-out's top-left corner at frame 0
        self.rng = np.random.default_rng(seed)

    def camera(self, t: int) -> np.ndarray:
        """2x3 matrix taking frame-t pixel coordinates to background-photo coordinates."""
        ph, pw = self.background.shape[:2]
        scale = min(pw / (self.w * 1.6), ph / (self.h * 1.2)) / (1 + ZOOM * t)
        x0 = 0.1 * pw + PAN * t * scale
        y0 = (ph - self.h * scale) / 2 + (self.h * scale * ZOOM * t) / 2
        return np.float32([[scale, 0, x0], [0, scale, y0]])

    def object_mask(self, t: int) -> np.ndarray:
        """bool (H, W): where the cut-out covers frame t (integer-aligned mask of a sub-pixel position)."""
        mask = np.zeros((self.h, self.w), bool)
        x, y = np.round(self.start + OBJECT_VELOCITY * t).astype(int)
        oh, ow = self.shape.shape
        ys, xs = slice(max(y, 0), min(y + oh, self.h)), slice(max(x, 0), min(x + ow, self.w))
        mask[ys, xs] = self.shape[ys.start - y: ys.stop - y, xs.start - x: xs.stop - x]
        return mask

    def frame(self, t: int) -> np.ndarray:
        out = cv2.warpAffine(self.background, self.camera(t), (self.w, self.h),
                             flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)
        x, y = np.round(self.start + OBJECT_VELOCITY * t)
        placed = cv2.warpAffine(self.object, np.float32([[1, 0, x], [0, 1, y]]), (self.w, self.h),
                                flags=cv2.INTER_LINEAR)
        mask = self.object_mask(t)
        out[mask] = placed[mask]
        out = out + self.rng.normal(0, NOISE, out.shape)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def flow(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact flow from frame t to frame t-1 (t(x) ~ (t-1)(x + flow)) and the pixels where it holds."""
        ys, xs = np.mgrid[0:self.h, 0:self.w].astype(np.float32)
        cur, prev = self.camera(t), self.camera(t - 1)
        px, py = cur[0, 0] * xs + cur[0, 2], cur[1, 1] * ys + cur[1, 2]  # background photo coordinates
        bx, by = (px - prev[0, 2]) / prev[0, 0], (py - prev[1, 2]) / prev[1, 1]  # where they were at t-1
        flow = np.stack([bx - xs, by - ys], -1)
        on_object = self.object_mask(t)
        step = np.round(self.start + OBJECT_VELOCITY * t) - np.round(self.start + OBJECT_VELOCITY * (t - 1))
        flow[on_object] = -step
        inside = (xs + flow[..., 0] >= 0) & (xs + flow[..., 0] <= self.w - 1) & \
                 (ys + flow[..., 1] >= 0) & (ys + flow[..., 1] <= self.h - 1)
        # Background that was hidden behind the cut-out at t-1 has no past; skip a 2-px band at its edge, where
        # interpolation mixes the two layers.
        was_hidden = warp(self.object_mask(t - 1).astype(np.uint8), flow) > 0
        edge = cv2.dilate(on_object.astype(np.uint8), np.ones((5, 5), np.uint8)) != \
            cv2.erode(on_object.astype(np.uint8), np.ones((5, 5), np.uint8))
        valid = inside & ~edge & (on_object | ~was_hidden)
        return flow, valid


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--background", required=True)
    parser.add_argument("--object", required=True)
    parser.add_argument("--style", help="style image: also report the style loss (loads torch)")
    parser.add_argument("--style-size", type=int, default=512)
    parser.add_argument("--loss-every", type=int, default=6)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", type=int, nargs=2, default=(640, 360), metavar=("W", "H"))
    parser.add_argument("--alpha", type=float, nargs="+", default=[0.5, 0.6])
    parser.add_argument("--variants", nargs="+", default=["480:medium"], metavar="SIDE:PRESET",
                        help="the blend's flow settings to compare, e.g. 160:ultrafast 480:medium")
    args = parser.parse_args(argv)
    print(f"# {' '.join(sys.argv)}\n# load: {os.getloadavg()}, cores: {os.cpu_count()}")

    scene = Scene(read_image(args.background), read_image(args.object), *args.size)
    stylizer = Stylizer(args.model, device="cpu")
    blenders = {}
    for alpha in args.alpha:
        for variant in args.variants:
            side, preset = variant.split(":")
            blenders[f"blend {alpha:g} {side}:{preset}"] = TemporalBlender(alpha, flow_side=int(side), preset=preset,
                                                                            workers=0)
    scorer = None
    if args.style:
        from brushwork.train.evaluate.video_losses import StyleScorer

        scorer = StyleScorer(args.style, style_size=args.style_size)
    exact: dict[str, list[float]] = {}
    measures = {"DIS medium": WarpingError("dis"), "Farneback": WarpingError("farneback")}
    losses: dict[str, list[float]] = {}
    previous: dict[str, np.ndarray] = {}
    for t in range(args.frames):
        frame = scene.frame(t)
        stylized = stylizer(frame)
        outputs = {"input": frame, "per-frame": stylized, **{k: b(frame, stylized) for k, b in blenders.items()}}
        for tracker in measures.values():
            tracker.update(frame, {k: v for k, v in outputs.items() if k != "input"})
        if t > 0:
            flow, valid = scene.flow(t)
            for name, out in outputs.items():
                exact.setdefault(name, []).append(warping_error(previous[name], out, flow, valid))
        if scorer is not None and t % args.loss_every == 0:
            for name, terms in scorer(frame, {k: v for k, v in outputs.items() if k != "input"}).items():
                losses.setdefault(name, []).append(terms["style"])
        previous = outputs
        print(f"\rframe {t + 1}/{args.frames}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    report(exact, {k: m.means() for k, m in measures.items()}, losses)


def report(exact: dict, measured: dict, losses: dict) -> None:
    truth = {k: float(np.mean(v)) for k, v in exact.items()}
    names = list(truth)
    header = "| series | exact flow | x per-frame | " + " | ".join(f"{m} | x per-frame" for m in measured)
    print(header + " | style loss |\n" + "|---" * (4 + 2 * len(measured)) + "|")
    base_style = np.mean(losses["per-frame"]) if losses else None
    for name in names:
        cells = [f"{truth[name]:.6f}", f"{truth[name] / truth['per-frame']:.3f}"]
        for means in measured.values():
            cells += [f"{means[name]:.6f}", f"{means[name] / means['per-frame']:.3f}"]
        if name in losses:
            mean = np.mean(losses[name])
            cells.append(f"{mean:.4g} ({mean / base_style - 1:+.1%})")
        else:
            cells.append("-")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
