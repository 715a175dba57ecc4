"""The Gatys et al. optimizer, `brushwork gatys`: the slow quality reference that the fast networks are judged by.

    config.py    GatysConfig: every setting of one optimization, and so every flag of the verb (torch-free)
    command.py   the verb: flags from GatysConfig, refuse existing outputs, run, print one line
    optimize.py  the optimization itself: images in and out, colour preservation, the loss, the iterations
    lbfgs.py     L-BFGS with a line search inside the [0, 1] pixel box (the loss never rises)
    memory.py    what an optimization will need, estimated before any work

It shares train/losses.py's PerceptualLoss and models/vgg.py with training, so both optimize the same loss.
Nothing here is imported at package level: `brushwork --help` reads command.py without torch.
"""
