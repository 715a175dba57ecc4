"""`brushwork train` under DistributedDataParallel: two CPU processes over gloo, only rank 0 writes.

The straight run goes through torchrun. The fault tests start the two ranks themselves, with the environment that
torchrun gives them: torchrun stops the other ranks when one fails, which would hide a rank left waiting in a
collective. Here each rank must exit on its own; one that hangs fails the test at a deadline.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.models.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow
DEADLINE_S = 240  # a few times what a run takes on a busy 2-core CPU; a rank stuck in a collective never ends


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Eight 40 px 'photos' (smooth noise) and a striped 'painting'."""
    root = tmp_path_factory.mktemp("ddp")
    (root / "photos").mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        coarse = rng.uniform(0, 255, (5, 5, 3)).astype(np.uint8)
        Image.fromarray(coarse).resize((40, 40), Image.BICUBIC).save(root / "photos" / f"p{i}.png")
    yy, xx = np.mgrid[0:64, 0:64]
    Image.fromarray(np.array([[230, 200, 40], [30, 60, 200]], np.uint8)[(xx + yy) // 4 % 2]).save(root / "style.png")
    return root


def train_args(inputs, out, *extra) -> list[str]:
    return ["train", "--style", str(inputs / "style.png"), "--data", str(inputs / "photos"), "--out", str(out),
            "--arch", "johnson-light", "--image-size", "32", "--style-size", "64", "--batch-size", "2",
            "--steps", "6", "--log-every", "1", "--sample-every", "3", "--workers", "0", "--device", "cpu",
            "--amp", "off", *extra]  # a later --amp in `extra` wins


@pytest.fixture(scope="module")
def straight(inputs):
    """Six steps through torchrun, checkpoints at 3 and 6; returns (stdout, the run directory)."""
    out = inputs / "straight"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "brushwork",
           *train_args(inputs, out, "--ckpt-every", "3")]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=DEADLINE_S,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, out / "style"


def run_ranks(driver, argv: list[str], fault: str, log_dir, **extra_env) -> list[tuple[int, str, str]]:
    """Both ranks of a 2-process run as torchrun would start them; (exit code, stdout, stderr) per rank."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    with contextlib.ExitStack() as files:
        for rank in range(2):
            env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                   "WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank), "FAULT": fault, **extra_env}
            out, err = (files.enter_context(open(log_dir / f"rank{rank}.{name}", "w")) for name in ("out", "err"))
            procs.append(subprocess.Popen([sys.executable, str(driver), *argv], env=env, stdout=out, stderr=err))
        deadline = time.monotonic() + DEADLINE_S
        try:
            for rank, proc in enumerate(procs):
                try:
                    proc.wait(timeout=max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pytest.fail(f"rank {rank} did not exit within {DEADLINE_S} s: left waiting in a collective?")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return [(proc.returncode, (log_dir / f"rank{rank}.out").read_text(), (log_dir / f"rank{rank}.err").read_text())
            for rank, proc in enumerate(procs)]


def test_torchrun_smoke(straight):
    stdout, run_dir = straight
    events = [p for p in run_dir.iterdir() if p.name.startswith("events.out.tfevents")]
    assert len(events) == 1  # rank 1 wrote no logs
    assert stdout.count("done: 6 steps") == 1
    ckpt = load_checkpoint(run_dir / "checkpoints" / "step_0000003.pt")
    assert ckpt["step"] == 3 and ckpt["data_position"]["samples_seen"] == 6  # per rank: 3 steps x batch 2
    assert load_checkpoint(run_dir / "model.pt")["kind"] == "model"


def test_sigterm_on_one_rank_stops_both_and_the_run_resumes_exactly(straight, inputs, fault_driver, tmp_path):
    """SIGTERM reaches rank 1 only, during step 3: both ranks stop after it (exit 143), rank 0 saves step 3; the
    same command resumes both ranks and ends bit for bit where the straight run did."""
    argv = train_args(inputs, tmp_path / "runs", "--ckpt-every", "100")
    stopped = run_ranks(fault_driver, argv, "term:3:1", tmp_path)
    assert [code for code, _, _ in stopped] == [143, 143], stopped
    assert "stopped at step 3" in stopped[0][1] and "Traceback" not in stopped[0][2] + stopped[1][2]
    run_dir = tmp_path / "runs" / "style"
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["step_0000003.pt"]
    resumed = run_ranks(fault_driver, argv, "none:0:0", tmp_path)
    assert [code for code, _, _ in resumed] == [0, 0], resumed
    assert "from step_0000003.pt (step 3)" in resumed[0][1]
    a, b = load_checkpoint(straight[1] / "model.pt"), load_checkpoint(run_dir / "model.pt")
    assert a["step"] == b["step"] == 6
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    ca = load_checkpoint(straight[1] / "checkpoints" / "step_0000006.pt")
    cb = load_checkpoint(run_dir / "checkpoints" / "step_0000006.pt")
    assert ca["data_position"] == cb["data_position"]
    assert torch.equal(ca["optimizer"]["state"][0]["exp_avg_sq"], cb["optimizer"]["state"][0]["exp_avg_sq"])


def test_nan_on_one_rank_stops_every_rank_with_one_line(inputs, fault_driver, tmp_path):
    """Rank 1's loss is NaN at step 3: both ranks raise before the gradient all-reduce, so neither waits for the
    other; each prints the one-line error and exits 2, and nothing of step 3 is saved."""
    argv = train_args(inputs, tmp_path / "runs", "--ckpt-every", "2")
    ranks = run_ranks(fault_driver, argv, "nan:3:1", tmp_path)
    assert [code for code, _, _ in ranks] == [2, 2], ranks
    for _, _, err in ranks:  # rank 0's stderr also holds its progress bar
        last = err.strip().splitlines()[-1]
        assert last.startswith("brushwork train: error: the loss became nan at step 3 on rank 1; "), err
        assert "step_0000002.pt" in last and err.count("error") == 1 and "Traceback" not in err
    run_dir = tmp_path / "runs" / "style"
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["step_0000002.pt"]
    assert not (run_dir / "model.pt").exists()


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_torchrun_in_half_precision(inputs, tmp_path, amp):
    """Two ranks train, checkpoint and finish in bf16 and in fp16 (gradient scaler) on the CPU."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "brushwork",
           *train_args(inputs, tmp_path / "runs", "--steps", "2", "--ckpt-every", "2", "--amp", amp)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=DEADLINE_S,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count(f"precision: {amp} (--amp {amp}: as asked)") == 1 and "done: 2 steps" in proc.stdout
    ckpt = load_checkpoint(tmp_path / "runs" / "style" / "checkpoints" / "step_0000002.pt")
    assert ckpt["config"]["amp"] == amp and ckpt["optimizer"]["state"][0]["step"] == 2  # no step skipped


def test_ranks_share_rank_0s_precision(inputs, fault_driver, tmp_path):
    """`--amp auto` timed differently on the two ranks: both train in rank 0's choice, which is recorded."""
    argv = train_args(inputs, tmp_path / "runs", "--steps", "1", "--amp", "auto")
    ranks = run_ranks(fault_driver, argv, "none:0:0", tmp_path, CHOOSE_BY_RANK="bf16,off")
    assert [code for code, _, _ in ranks] == [0, 0], ranks
    assert "rank 0 trains in torch.bfloat16" in ranks[0][1] and "rank 1 trains in torch.bfloat16" in ranks[1][1]
    assert "precision: bf16 (--amp auto: this rank's own timing)" in ranks[0][1]
    assert load_checkpoint(tmp_path / "runs" / "style" / "model.pt")["config"]["amp"] == "bf16"
