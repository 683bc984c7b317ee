"""Matplotlib style for the book's figures.

Figures get an opaque white background so that they stay readable when the
book is switched to its dark theme (a transparent PNG would put black axes on
a dark page).
"""
from __future__ import annotations

import matplotlib as mpl

PALETTE = {"none": "#7f7f7f", "l1": "#d62728", "l2": "#1f77b4", "dropout": "#2ca02c",
           "batchnorm": "#9467bd", "early": "#ff7f0e", "train": "#1f77b4", "val": "#d62728"}


def use_book_style() -> None:
    """Apply the book's figure style (call once at the top of a chapter)."""
    mpl.rcParams.update({
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.transparent": False,
        "figure.dpi": 100,
        "savefig.dpi": 110,
        "figure.figsize": (7.0, 4.0),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 11,
        "legend.frameon": False,
    })
