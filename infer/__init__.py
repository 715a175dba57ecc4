"""The torch-free runtime: onnxruntime + numpy + PyAV + Pillow, and OpenCV for the optical flow of
`--temporal-blend` (infer/flow.py).

    from brushwork.infer import Stylizer, stylize_file, stylize_frames
    stylizer = Stylizer("starry.onnx")
    out = stylizer(frame)                                   # uint8 (H, W, 3) RGB -> same shape
    picture = stylizer("photo.jpg")                         # a path or PIL image -> PIL image, metadata in .info
    stylize_file("party.gif", "party_starry.gif", stylizer) # a picture file, animated or not, metadata kept
    for frame, out in stylize_frames("clip.mp4", stylizer): # a generator over a video's frames
        ...

Nothing under brushwork.infer imports torch (a test checks it in a subprocess).
"""

from .pictures import stylize_file
from .session import Stylizer
from .video import stylize_frames

__all__ = ["Stylizer", "stylize_file", "stylize_frames"]
