"""The torch-free runtime: onnxruntime + numpy + PyAV + Pillow.

    from brushwork.infer import Stylizer, stylize_frames
    stylizer = Stylizer("starry.onnx")
    out = stylizer(frame)                                   # uint8 (H, W, 3) RGB -> same shape
    for frame, out in stylize_frames("clip.mp4", stylizer): # a generator over a video's frames
        ...

Nothing under brushwork.infer imports torch (a test checks it in a subprocess).
"""

from .session import Stylizer
from .video import stylize_frames

__all__ = ["Stylizer", "stylize_frames"]
