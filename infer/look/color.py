"""Colour preservation (Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in Neural Artistic Style
Transfer", 2016), in numpy so the runtime and the Gatys optimizer share it.

- luminance: keep the content's chroma, take the stylized image's luminance (YCbCr, BT.601). The paper
  additionally matches the style luminance's mean/std to the content's before transfer; `match_luminance`
  does that step for optimizers that can use it.
- histogram: match the colour statistics (mean and covariance, the paper's linear transform via the
  matrix square root) of one image to another's. For a feed-forward model it is applied to the output,
  pulling its colours to the content's; for Gatys it recolours the style image before optimizing.
"""

from __future__ import annotations

import numpy as np

from ...choices import COLOR_METHODS

# BT.601 full-range RGB <-> YCbCr, as JPEG uses.
_RGB_TO_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC)
METHODS = COLOR_METHODS


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in 0..255 -> (..., 3) float32 Y, Cb, Cr with Cb/Cr centred on 0."""
    return (rgb.astype(np.float32) @ _RGB_TO_YCC.T.astype(np.float32))


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    return ycc.astype(np.float32) @ _YCC_TO_RGB.T.astype(np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round and clip float pixels to uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def luminance_transfer(content: np.ndarray, stylized: np.ndarray) -> np.ndarray:
    """Stylized luminance with the content's chroma: the strokes of the style, the colours of the photo."""
    if content.shape != stylized.shape:
        raise ValueError(f"content {content.shape} and stylized {stylized.shape} differ in shape")
    ycc = rgb_to_ycbcr(content)
    ycc[..., 0] = rgb_to_ycbcr(stylized)[..., 0]
    return to_uint8(ycbcr_to_rgb(ycc))


def match_luminance(source_y: np.ndarray, reference_y: np.ndarray) -> np.ndarray:
    """Shift and scale luminance so its mean and std equal the reference's (Gatys et al. 2016, eq. 1)."""
    s_mean, s_std = source_y.mean(), source_y.std() + 1e-6
    return (source_y - s_mean) * (reference_y.std() / s_std) + reference_y.mean()


def _sqrtm_psd(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Square root and inverse square root of a symmetric positive semi-definite 3x3 matrix."""
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 1e-5, None)
    return (vecs * np.sqrt(vals)) @ vecs.T, (vecs / np.sqrt(vals)) @ vecs.T


def match_color(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Recolour `source` so its RGB mean and covariance equal `reference`'s (any sizes; uint8 in and out)."""
    src = source.reshape(-1, 3).astype(np.float64)
    ref = reference.reshape(-1, 3).astype(np.float64)
    mu_s, mu_r = src.mean(0), ref.mean(0)
    # bias=True: the population covariance, defined for a single pixel too (the sample one divides by N - 1 = 0)
    _, inv_sqrt_s = _sqrtm_psd(np.cov(src, rowvar=False, bias=True))
    sqrt_r, _ = _sqrtm_psd(np.cov(ref, rowvar=False, bias=True))
    out = (src - mu_s) @ (sqrt_r @ inv_sqrt_s).T + mu_r
    return to_uint8(out).reshape(source.shape)


def preserve_color(content: np.ndarray, stylized: np.ndarray, method: str | None) -> np.ndarray:
    """Apply a colour-preservation method to a stylized frame (None or '' returns it unchanged)."""
    if not method:
        return stylized
    if method == "luminance":
        return luminance_transfer(content, stylized)
    if method == "histogram":
        return match_color(stylized, content)
    raise ValueError(f"unknown colour preservation {method!r}; known: {', '.join(METHODS)}")


def blend(original: np.ndarray, stylized: np.ndarray, strength: float) -> np.ndarray:
    """`strength` 1 = fully stylized, 0 = the original."""
    if strength >= 1.0:
        return stylized
    mixed = strength * stylized.astype(np.float32) + (1.0 - strength) * original.astype(np.float32)
    return to_uint8(mixed)
