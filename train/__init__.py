"""Training, with torch: `brushwork train`, `distill`, `gatys`, `evaluate`, `bench train`.

    command.py         `brushwork train`: flags from TrainConfig, run fit(), say where the model is
    config.py          TrainConfig: every setting of one run, and so every flag (torch-free)
    loop.py            fit(cfg): the Trainer's step and the Run around it (resume, checkpoints, budget, DDP)
    losses.py          the perceptual losses of Johnson et al. and Gatys et al. over models/vgg.py
    style.py           the painting a run learns, and its identity for the checkpoint
    warm_start.py      --init: begin from another model's weights (read by models/weights.py)
    resume.py          where a run continues from: --resume, the checkpoint it must be
    rng.py             every RNG as plain data, so a resumed run draws what the uninterrupted one would
    budget.py          --time-budget: the step count planned from measured speed
    schedule.py        the learning rate of each step (warm-up, cosine)
    precision.py       --amp: which precision a run computes in, decided once and recorded
    device.py          the --device rule of the torch verbs
    distributed.py     torchrun: process groups, rank 0's decisions broadcast
    signals.py         Ctrl-C and SIGTERM: save, then stop between steps
    monitor.py         the progress bar, log lines, TensorBoard
    stability.py       training-time temporal stability (no video needed)
    distill.py         students: a small network fitted to a trained model's pictures; how close it came
    distill_command.py `brushwork distill`: a student run, exported and measured
    bench_command.py   `brushwork bench train`: training images/s on this machine
    peer_fps.py        the peer's (pytorch/examples) network timed in torch, for `bench MODEL --peer`
    gatys/             `brushwork gatys`: the Gatys et al. optimizer, the quality reference
    evaluate/          `brushwork evaluate` and `evaluate-video`: how good a model is, in numbers

Nothing is imported at package level: `brushwork --help` reads the command modules without torch.
"""
