"""Temporal consistency: the flow helpers, the inference-time blend and the training-time stability loss."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from brushwork import BrushworkError
from brushwork.infer.bench_command import encode_tone
from brushwork.infer.look.flow import FlowEstimator, consistent, flow_to_previous, resize_flow, to_gray, warp
from brushwork.infer.look.temporal import TemporalBlender
from brushwork.models.transformer_net import build_transformer
from brushwork.train.evaluate.warping import WarpingError
from brushwork.train.stability import inside_mask, random_affine, stability_loss


def flickering(seed: int = 0, std: float = 12.0):
    """A stand-in 'model' that flickers: the frame plus fresh noise every call."""
    rng = np.random.default_rng(seed)
    return lambda frame: np.clip(frame + rng.normal(0, std, frame.shape), 0, 255).astype(np.uint8)


# --- flow helpers -------------------------------------------------------------------------------------------

def test_flow_finds_a_known_translation_and_warp_undoes_it(panning_clip):
    prev, cur = panning_clip(2, shift=(3, 2))
    flow, mask = flow_to_previous(FlowEstimator("medium"), to_gray(prev), to_gray(cur))
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(np.median(flow[inner], axis=(0, 1)) - [3, 2]).max() < 0.25  # cur(x) = prev(x + (3, 2))
    assert mask[inner].mean() > 0.9
    assert not mask[:, -3:].any()  # the right edge samples outside the previous frame: never trusted
    carried = warp(prev, flow).astype(float)
    assert np.abs(carried - cur)[inner].mean() < 3.0
    assert np.abs(prev.astype(float) - cur)[inner].mean() > 10  # without the warp the frames differ


def test_consistency_check_rejects_disagreeing_flows():
    forward = np.full((20, 30, 2), 2.0, np.float32)
    assert consistent(forward, -forward)[5:15, 5:15].all()
    assert not consistent(forward, forward)[5:15, 5:15].any()  # the round trip ends 8 px from the start


def test_to_gray_caps_the_longest_side_and_never_upscales(texture):
    frame = texture(90, 160, seed=1)
    assert to_gray(frame, 80).shape == (45, 80)
    assert to_gray(frame, 480).shape == (90, 160)
    assert to_gray(frame).shape == (90, 160)


def test_flow_estimator_gives_the_same_flow_from_several_threads(panning_clip):
    from concurrent.futures import ThreadPoolExecutor

    clip = [to_gray(f) for f in panning_clip(9, shift=(2, 1))]
    estimator, pairs = FlowEstimator("medium"), list(zip(clip[1:], clip[:-1]))
    alone = [estimator(a, b) for a, b in pairs]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda ab: estimator(*ab), pairs))
    assert all(np.array_equal(x, y) for x, y in zip(alone, threaded))


def test_resize_flow_rescales_vectors():
    flow = np.zeros((10, 20, 2), np.float32)
    flow[..., 0], flow[..., 1] = 1.5, -0.5
    big = resize_flow(flow, 40, 80)
    assert big.shape == (40, 80, 2)
    assert np.allclose(big[..., 0], 6.0) and np.allclose(big[..., 1], -2.0)


# --- the inference-time blend --------------------------------------------------------------------------------

def test_blend_keeps_frame_count_size_and_dtype(panning_clip):
    blender, clip = TemporalBlender(0.6), panning_clip(5, size=(50, 70))
    outputs = [blender(f, f) for f in clip]
    assert len(outputs) == len(clip)
    assert all(o.shape == (50, 70, 3) and o.dtype == np.uint8 for o in outputs)


def test_first_frame_and_zero_strength_pass_the_stylized_frame_through(panning_clip):
    clip, stylize = panning_clip(3), flickering()
    stylized = [stylize(f) for f in clip]
    blender = TemporalBlender(0.0)
    assert all(np.array_equal(blender(f, s), s) for f, s in zip(clip, stylized))
    assert np.array_equal(TemporalBlender(0.7)(clip[0], stylized[0]), stylized[0])


def test_blend_reduces_the_warping_error_of_a_flickering_model(panning_clip):
    clip, stylize = panning_clip(8), flickering()
    tracker, blender = WarpingError(), TemporalBlender(0.7, flow_side=48)
    for frame in clip:
        stylized = stylize(frame)
        tracker.update(frame, {"per-frame": stylized, "blend": blender(frame, stylized)})
    means = tracker.means()
    assert means["blend"] < 0.6 * means["per-frame"]
    assert means["input"] < 0.2 * means["per-frame"]


@pytest.mark.parametrize("workers", [0, 3])
def test_prefetching_the_flow_gives_the_same_frames(panning_clip, workers):
    # The video pipeline calls prefetch() from the decoder, ahead of the model; the result must not change.
    clip, stylize = panning_clip(7), flickering()
    stylized = [stylize(f) for f in clip]
    inline, ahead = TemporalBlender(0.6, flow_side=48, workers=0), TemporalBlender(0.6, flow_side=48, workers=workers)
    for frame in clip:
        ahead.prefetch(frame)
    expected = [inline(f, s) for f, s in zip(clip, stylized)]
    got = [ahead(f, s) for f, s in zip(clip, stylized)]
    ahead.close()
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))
    assert not np.array_equal(got[-1], stylized[-1])  # it did blend


def test_restore_contrast_gives_back_each_channels_spread(texture):
    from brushwork.infer.look.temporal import restore_contrast

    stylized = texture(48, 64, seed=2)
    flat = (0.75 * stylized + 0.25 * stylized.mean((0, 1))).round().astype(np.uint8)  # 25 % less contrast
    out = restore_contrast(flat, stylized)
    assert np.allclose(out.std((0, 1)), stylized.std((0, 1)), atol=0.5)
    assert np.allclose(out.mean((0, 1)), flat.mean((0, 1)), atol=0.5)
    assert np.array_equal(restore_contrast(stylized, flat), stylized)  # never lowers contrast
    capped = restore_contrast(flat, stylized, max_gain=1.2)
    assert np.allclose(capped.std((0, 1)), 1.2 * flat.std((0, 1)), rtol=0.02)


def test_blend_does_not_carry_across_a_scene_cut(texture, panning_clip):
    blender, stylize = TemporalBlender(0.8, flow_side=48), flickering()
    first, cut = panning_clip(1)[0], texture(64, 96, seed=5)
    blender(first, stylize(first))
    stylized = stylize(cut)
    carried_over = np.abs(blender(cut, stylized).astype(float) - stylized).mean()
    assert carried_over < 4.0  # an unrelated frame: almost nothing of the old output survives


def test_size_change_and_reset_start_fresh(panning_clip):
    blender = TemporalBlender(0.7)
    small, big = panning_clip(1, size=(40, 60))[0], panning_clip(2, size=(48, 72))
    blender(small, small)
    stylized = flickering()(big[0])
    assert np.array_equal(blender(big[0], stylized), stylized)
    blender.reset()
    assert np.array_equal(blender(big[1], stylized), stylized)


@pytest.mark.parametrize("alpha", [-0.1, 1.0, 3])
def test_blend_strength_out_of_range_is_a_clear_error(alpha):
    with pytest.raises(BrushworkError, match="--temporal-blend"):
        TemporalBlender(alpha)


def test_bad_flow_settings_are_clear_errors():
    with pytest.raises(BrushworkError, match="--flow-side"):
        TemporalBlender(0.5, flow_side=4)
    with pytest.raises(BrushworkError, match="--flow-preset"):
        TemporalBlender(0.5, preset="slow")


def test_blend_rejects_mismatched_or_foreign_frames(panning_clip):
    blender, frame = TemporalBlender(0.5), panning_clip(1)[0]
    with pytest.raises(BrushworkError, match="differ in size"):
        blender(frame, frame[:-4])
    with pytest.raises(BrushworkError, match="uint8"):
        blender(frame, frame.astype(np.float32))


def test_the_blend_module_does_not_import_torch():
    code = "import sys, brushwork.infer.look.temporal; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the training-time stability loss ------------------------------------------------------------------------

def _batch(seed: int = 0) -> torch.Tensor:
    return torch.rand(2, 3, 36, 52, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("model", [nn.Identity(), nn.Conv2d(3, 3, 1)], ids=["identity", "1x1-conv"])
def test_stability_loss_is_zero_for_a_per_pixel_model(model):
    loss = stability_loss(model, _batch(), noise_std=0.0, generator=torch.Generator().manual_seed(1))
    assert loss.item() < 1e-10


def test_stability_loss_is_zero_for_a_conv_under_integer_shifts():
    # A 3x3 conv commutes with whole-pixel translation away from the border: the motion alone is not penalized.
    torch.manual_seed(0)
    conv, x = nn.Conv2d(3, 3, 3, padding=1), _batch()
    theta = torch.tensor([[[1.0, 0.0, 2 * 3 / 52], [0.0, 1.0, 2 * -2 / 36]]]).repeat(2, 1, 1)
    grid = torch.nn.functional.affine_grid(theta, [2, 1, 36, 52], align_corners=False)
    moved = torch.nn.functional.grid_sample(x, grid, align_corners=False)
    target = torch.nn.functional.grid_sample(conv(x), grid, align_corners=False)
    valid = inside_mask(grid, 36, 52)
    assert valid.float().mean() > 0.8
    diff = (conv(moved) - target)[:, :, 2:-2, 2:-2].abs().amax(1)
    assert diff[valid[:, 2:-2, 2:-2]].max() < 1e-5


def test_stability_loss_is_positive_for_the_style_network_and_trains_it():
    torch.manual_seed(0)
    net = build_transformer("johnson-light", width=4, depth=1)
    loss = stability_loss(net, _batch(), generator=torch.Generator().manual_seed(2))
    assert loss.item() > 1e-4
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    assert sum(p.grad.abs().sum().item() for p in net.parameters()) > 0


def test_stability_loss_counts_the_noise():
    loss = stability_loss(nn.Identity(), _batch(), noise_std=0.05, generator=torch.Generator().manual_seed(3))
    assert loss.item() == pytest.approx(0.05**2, rel=0.15)  # identity: only the added noise remains


def test_stability_loss_is_reproducible_and_reuses_the_stylized_batch():
    torch.manual_seed(0)
    net, x = build_transformer("johnson-light", width=4, depth=1), _batch()
    a = stability_loss(net, x, generator=torch.Generator().manual_seed(4))
    b = stability_loss(net, x, generator=torch.Generator().manual_seed(4), stylized=net(x))
    c = stability_loss(net, x, generator=torch.Generator().manual_seed(5))
    assert a.item() == pytest.approx(b.item(), rel=1e-5)
    assert a.item() != c.item()


def test_random_affine_moves_at_most_max_shift_plus_rotation():
    theta = random_affine(64, 100, 200, max_shift=4, generator=torch.Generator().manual_seed(0))
    shift_px = theta[:, :, 2].abs() * torch.tensor([200, 100]) / 2
    assert shift_px.max() <= 4.0 + 1e-5 and shift_px.max() > 2.0
    assert torch.allclose(theta[:, 0, 0], theta[:, 1, 1])  # rotation + zoom only: no shear on the diagonal


# --- through `brushwork stylize` -----------------------------------------------------------------------------

def _write_clip_with_tone(path, frames: list, fps: int = 12) -> None:
    """An H.264 clip of the frames plus a 440 Hz AAC tone as long as the video."""
    import av

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"crf": "10", "preset": "ultrafast"})
        video.height, video.width, video.pix_fmt = *frames[0].shape[:2], "yuv420p"
        audio = out.add_stream("aac", rate=22050, layout="mono")
        for frame in frames:
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(video.encode())
        encode_tone(out, audio, len(frames) / fps)


def _probe(path) -> tuple[int, tuple[int, int], list[bytes]]:
    import av

    with av.open(str(path)) as c:
        count = sum(1 for _ in c.decode(video=0))
        size = (c.streams.video[0].width, c.streams.video[0].height)
    with av.open(str(path)) as c:
        audio = [bytes(p) for p in c.demux(audio=0) if p.size]
    return count, size, audio


def test_stylize_with_blend_keeps_frames_size_and_audio(tmp_path, panning_clip):
    import onnx
    from onnx import TensorProto, helper

    from brushwork.cli import main

    graph = helper.make_graph(  # a brushwork-convention model that inverts colours
        [helper.make_node("Sub", ["white", "image"], ["stylized"])], "invert",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["N", "H", "W", 3])],
        [helper.make_tensor_value_info("stylized", TensorProto.UINT8, ["N", "H", "W", 3])],
        [helper.make_tensor("white", TensorProto.UINT8, [], [255])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8),
              tmp_path / "invert.onnx")
    _write_clip_with_tone(tmp_path / "clip.mp4", panning_clip(9, size=(48, 80)))
    assert main(["stylize", str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "out.mp4"), "--model",
                 str(tmp_path / "invert.onnx"), "--temporal-blend", "0.6", "--quiet"]) == 0
    count, size, audio = _probe(tmp_path / "clip.mp4")
    assert _probe(tmp_path / "out.mp4") == (count, size, audio) and count == 9 and len(audio) > 5


def test_the_video_pipeline_prefetches_every_frame_in_order(tmp_path, panning_clip):
    """Decoder thread -> prefetch, model thread, post thread: the blend sees what the one-thread loop would."""
    from brushwork.infer.media.video import stylize_video

    _write_clip_with_tone(tmp_path / "clip.mp4", panning_clip(11, size=(48, 80)))

    def flicker(frame):  # a deterministic flickering 'model': noise seeded by the frame itself
        noise = np.random.default_rng(int(frame.sum())).normal(0, 12, frame.shape)
        return np.clip(frame + noise, 0, 255).astype(np.uint8)

    blender, seen, blended = TemporalBlender(0.6, flow_side=48, workers=2), [], []
    stylize_video(tmp_path / "clip.mp4", tmp_path / "out.mp4", lambda batch: np.stack([flicker(f) for f in batch]),
                  lambda f, s: blended.append(blender(f, s)) or blended[-1],
                  prefetch=lambda f: seen.append(f.copy()) or blender.prefetch(f), batch_size=3, progress=False)
    blender.close()
    reference = TemporalBlender(0.6, flow_side=48, workers=0)
    expected = [reference(f, flicker(f)) for f in seen]
    assert len(seen) == len(blended) == 11
    assert all(np.array_equal(a, b) for a, b in zip(expected, blended))

