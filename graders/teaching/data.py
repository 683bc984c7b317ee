"""Datasets for the book and the assignments: bundled with scikit-learn or generated.

Nothing here downloads anything (the course must build offline), and every
split is fixed by a seed so that builds and grades are reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Standardised train / validation / test arrays."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _standardise(train, *others):
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)  # constant pixels in digits: leave them at 0
    return [((a - mean) / std).astype(np.float32) for a in (train, *others)]


def _digits_rows(n_train: int, n_val: int, seed: int):
    """The 8x8 digits (pixels 0..16, shape (1797, 8, 8)), labels, and the rows of each split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    n = len(digits.target)
    if n_train + n_val >= n:
        raise ValueError(f"Expected n_train + n_val < {n}. Received: {n_train} + {n_val}")
    order = np.random.default_rng(seed).permutation(n)
    return digits.images, digits.target, (order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:])


def digits_split(n_train: int = 500, n_val: int = 400, seed: int = 0) -> Split:
    """The 8x8 handwritten digits (1,797 images, 64 pixels, 10 classes), split three ways.

    A small training set makes over-fitting easy to see; the remaining images
    after train and validation form the test set. Pixels are standardised with
    the training statistics.
    """
    images, y, (tr, va, te) = _digits_rows(n_train, n_val, seed)
    X = images.reshape(len(y), -1)
    X_tr, X_va, X_te = _standardise(X[tr].astype(np.float64), X[va], X[te])
    return Split(X_tr, y[tr], X_va, y[va], X_te, y[te])


def digits_images(n_train: int = 500, n_val: int = 400, seed: int = 0) -> Split:
    """The same split as :func:`digits_split`, as raw images: pixel values 0..16, shape (n, 8, 8).

    For what needs pixels that keep their meaning when moved (data augmentation: a shifted
    background stays background), or the raw statistics that ``digits_split`` standardised with.

    >>> a, b = digits_images(n_train=100, n_val=50), digits_split(n_train=100, n_val=50)
    >>> a.X_train.shape, bool((a.y_val == b.y_val).all())
    ((100, 8, 8), True)
    """
    images, y, (tr, va, te) = _digits_rows(n_train, n_val, seed)
    return Split(images[tr], y[tr], images[va], y[va], images[te], y[te])


def diabetes_with_noise(n_noise: int = 40, seed: int = 0):
    """scikit-learn's diabetes regression data with irrelevant noise columns appended.

    442 patients, 10 real features (age, sex, bmi, blood pressure, six serum
    measurements) plus ``n_noise`` columns of pure Gaussian noise. A good
    regulariser should keep the real features and zero the noise.

    Returns:
        ``(X, y, feature_names, is_real)``: ``X`` standardised, shape
        ``(442, 10 + n_noise)``; ``y`` centred and scaled to unit variance;
        ``is_real`` a boolean mask of the 10 real columns.
    """
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((data.data.shape[0], n_noise))
    X = np.hstack([data.data, noise])
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (data.target - data.target.mean()) / data.target.std()
    names = list(data.feature_names) + [f"noise_{i}" for i in range(n_noise)]
    is_real = np.array([True] * data.data.shape[1] + [False] * n_noise)
    return X, y, names, is_real


def sparse_regression(n_samples: int = 200, n_features: int = 50, n_informative: int = 5,
                      noise: float = 0.5, seed: int = 0):
    """Linear data ``y = X @ w_true + noise`` where only ``n_informative`` weights are non-zero.

    Returns ``(X, y, w_true)``; the informative weights are the first ones.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w_true = np.zeros(n_features)
    w_true[:n_informative] = rng.choice([-1.0, 1.0], n_informative) * rng.uniform(1.0, 3.0, n_informative)
    y = X @ w_true + noise * rng.standard_normal(n_samples)
    return X, y, w_true
