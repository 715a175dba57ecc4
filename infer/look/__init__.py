"""What runs on a stylized frame after the model.

    post.py      the post-processing of `stylize` and `serve`, in one order: temporal blend, colour, strength
    color.py     colour preservation (luminance transfer, histogram matching) and the strength blend
    temporal.py  the flow-guided blend of each video frame with the previous output (less flicker)
    flow.py      optical flow, warping and the occlusion check (OpenCV)
"""
