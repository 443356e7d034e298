"""One matplotlib style for every figure in the book: readable at book width."""
import matplotlib as mpl


def style() -> None:
    """Apply the book's figure style (sizes, grid, fonts, dpi)."""
    mpl.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 110, "font.size": 10, "axes.grid": True,
        "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "legend.frameon": False, "figure.figsize": (6.4, 3.6),
    })
