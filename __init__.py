"""brushwork: fast neural style transfer.

Train a painter's style once (`brushwork train`), export it (`brushwork export`), and apply it to images and
video in real time (`brushwork stylize`). This module stays free of torch so that the runtime starts fast and
deploys with onnxruntime, numpy and PyAV alone.
"""

__version__ = "0.1.0"


class BrushworkError(Exception):
    """A problem with the user's input or environment. The CLI prints its message as one line and exits 2.

    The message should say what is wrong, where (the file or flag), and what to do next.
    """
