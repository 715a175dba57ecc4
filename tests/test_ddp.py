"""`torchrun --nproc-per-node 2 -m brushwork train`: two CPU processes over gloo, only rank 0 writes."""

import os
import subprocess
import sys

import pytest

from brushwork.models.checkpoint import load_checkpoint


@pytest.mark.slow
def test_two_process_gloo_smoke(tmp_path, photo_dir, style_path):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "brushwork", "train", "--style", str(style_path), "--data", str(photo_dir), "--out", str(out),
           "--arch", "johnson-light", "--image-size", "32", "--style-size", "64", "--batch-size", "2",
           "--steps", "3", "--ckpt-every", "2", "--log-every", "1", "--sample-every", "3", "--workers", "0",
           "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = out / "style"
    events = [p for p in run_dir.iterdir() if p.name.startswith("events.out.tfevents")]
    assert len(events) == 1  # rank 1 wrote no logs
    assert proc.stdout.count("done: 3 steps") == 1
    ckpt = load_checkpoint(run_dir / "checkpoints" / "step_0000003.pt")
    assert ckpt["step"] == 3 and ckpt["data_position"]["samples_seen"] == 6  # per rank: 3 steps x batch 2
    assert load_checkpoint(run_dir / "model.pt")["kind"] == "model"
