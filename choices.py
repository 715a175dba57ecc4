"""The closed sets of values that more than one verb or module accepts, named once. Imports nothing, so that
the config dataclasses (flags), the torch side and the torch-free runtime all take them from here.
"""

# VGG ReLU taps of the two loss networks in the literature: (content layers, style layers).
JOHNSON_LAYERS = (("relu2_2",), ("relu1_2", "relu2_2", "relu3_3", "relu4_3"))  # Johnson et al. 2016: `train`
GATYS_LAYERS = (("relu4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"))  # Gatys et al. 2016
LAYER_PRESETS = {"gatys": GATYS_LAYERS, "johnson": JOHNSON_LAYERS}
CROP_AREA = (0.35, 1.0)  # the fraction of a photo's area a training crop covers, by default (`train --crop-area`)

GATYS_INITS = ("content", "noise")  # where the Gatys optimizer starts: the photo, or noise
COLOR_METHODS = ("luminance", "histogram")  # colour preservation (infer/look/color.py)
QUALITIES = ("auto", "fast", "full")  # a shipped style's models: its student, its full network, or by device
FLOW_PRESETS = ("ultrafast", "fast", "medium")  # OpenCV DIS optical flow presets (infer/look/flow.py)
