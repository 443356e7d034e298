"""One matplotlib style for every figure in the book: readable at book width."""
import matplotlib as mpl

from .samplers import to_uint8


def style() -> None:
    """Apply the book's figure style (sizes, grid, fonts, dpi)."""
    mpl.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 110, "font.size": 10, "axes.grid": True,
        "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "legend.frameon": False, "figure.figsize": (6.4, 3.6),
    })


def image_grid(x, nrow: int = 8, pad: int = 1):
    """A uint8 mosaic [rows·(H+pad), nrow·(W+pad), C] of images [n, C, H, W], in [−1, 1] or uint8."""
    import numpy as np
    a = np.asarray(x)
    imgs = a.transpose(0, 2, 3, 1) if a.dtype == np.uint8 else to_uint8(a)
    n, h, w, c = imgs.shape
    rows = -(-n // nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, nrow)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = imgs[i]
    return grid[..., 0] if c == 1 else grid
