"""Draws book/images/overview.png, the figure at the top of README.md.

Run from the repository root: .venv/bin/python book/images/make_overview_figure.py
NumPy only; the math comes from `graders` (ridge closed form and ISTA with soft_threshold).
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graders import soft_threshold  # noqa: E402
from graders.teaching.data import diabetes_with_noise  # noqa: E402
from graders.teaching.plotting import PALETTE, use_book_style  # noqa: E402


def lasso_ista(X, y, lam, steps=3000):
    lr = len(y) / np.linalg.norm(X, 2) ** 2
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        grad = X.T @ (X @ w - y) / len(y)
        w = soft_threshold(w - lr * grad, lr * lam)
    return w


def main():
    use_book_style()
    X, y, names, is_real = diabetes_with_noise(n_noise=40, seed=0)
    n = len(y)
    w_ols = np.linalg.lstsq(X, y, rcond=None)[0]
    w_l2 = np.linalg.solve(X.T @ X / n + 2 * 0.05 * np.eye(X.shape[1]), X.T @ y / n)
    w_l1 = lasso_ista(X, y, lam=0.05)

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharey=True)
    for ax, w, title, color in zip(axes, (w_ols, w_l2, w_l1),
                                   ("no penalty", "L2 (ridge): shrinks", "L1 (lasso): exact zeros"),
                                   (PALETTE["none"], PALETTE["l2"], PALETTE["l1"])):
        idx = np.arange(len(w))
        ax.bar(idx[is_real], w[is_real], color=color, label="10 real features")
        ax.bar(idx[~is_real], w[~is_real], color=color, alpha=0.35, label="40 noise features")
        ax.axhline(0, color="black", lw=0.8)
        zeros = int(np.sum(w == 0))
        ax.set_title(f"{title}\n{zeros} weights exactly 0")
        ax.set_xlabel("feature index")
    axes[0].set_ylabel("weight")
    axes[0].legend(loc="upper right")
    fig.suptitle("Diabetes data + 40 irrelevant noise columns: what each penalty does to a linear model", y=1.08)
    out = Path(__file__).with_name("overview.png")
    fig.savefig(out, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
