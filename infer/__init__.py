"""The torch-free runtime: onnxruntime + numpy + PyAV + Pillow, and OpenCV for the optical flow of
`--temporal-blend` (infer/look/flow.py).

    from brushwork.infer import Stylizer, StrokeScale, stylize_file, stylize_frames
    stylizer = Stylizer("starry.onnx")
    out = stylizer(frame)                                   # uint8 (H, W, 3) RGB -> same shape, native scale
    stylizer = StrokeScale(Stylizer("starry.onnx"))         # the same strokes at any picture size (as the CLI)
    picture = stylizer("photo.jpg")                         # a path or PIL image -> PIL image, metadata in .info
    stylize_file("party.gif", "party_starry.gif", stylizer) # a picture file, animated or not, metadata kept
    for frame, out in stylize_frames("clip.mp4", stylizer): # a generator over a video's frames
        ...

The wings, each one concern (no wing imports one above it):

    engine/     a frame in, a frame out: onnxruntime sessions, padding, exact tiling in bounded memory
    look/       what runs after the model: temporal blend, colour preservation, strength
    media/      pictures, animations and videos in and out, streamed, metadata and audio kept
    stylize/    `brushwork stylize`
    serve/      `brushwork serve`
    info_command.py, styles_command.py, demo_command.py, bench_command.py   the one-file verbs

The shipped styles' index is brushwork/styles/, beside the files it lists. Nothing under brushwork.infer imports
torch (a test checks it in a subprocess).
"""

from .engine.session import Stylizer
from .engine.stroke import StrokeScale
from .media.pictures import stylize_file
from .media.video import stylize_frames

__all__ = ["StrokeScale", "Stylizer", "stylize_file", "stylize_frames"]
