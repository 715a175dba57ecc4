"""Evaluation, `brushwork evaluate` and `brushwork evaluate-video`: how good a trained model is, in numbers.

    config.py         EvaluateConfig and EvaluateVideoConfig: the settings, and so the flags, of both verbs
    command.py        `evaluate`: the fast model against the Gatys optimizer on held-out photos
    compare.py        that comparison: one fixed loss network scores the model's pictures and Gatys' snapshots
    report.py         report.json/csv/md and the contact sheet
    johnson.py        Johnson et al.'s yardstick: iterations of plain L-BFGS from noise to reach a model's loss
    edges.py          edge roughness: a fringe along the picture's border, as a number (torch-free)
    video_command.py  `evaluate-video`: how much a stylized video flickers, per series (per-frame, blends)
    video_report.py   its table, metrics.json and chart
    warping.py        the warping error of Lai et al. (2018), the flicker measure (torch-free)
    frames.py         decoding the frames to measure
    video_losses.py   per-frame content and style losses (torch, on request)
    chart.py          the per-frame line chart

Nothing is imported at package level: `brushwork --help` reads the command modules without torch.
"""
