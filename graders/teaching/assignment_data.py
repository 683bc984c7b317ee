"""The data files shipped beside the release notebooks, so that students need no ``graders``.

The assignments' data sets come from :mod:`graders.teaching.data` (the same functions the book
uses), but a student's environment must not install this package: it holds the reference
answers. So the release ships each data set as a small ``.npz`` file next to the notebook,
and the notebook reads it with NumPy::

    with np.load("digits_split.npz") as f:
        data = SimpleNamespace(**f)        # data.X_train, data.y_train, ...

``python -m graders.authoring.release`` (``make exercises``) writes the files into
``solutions/<assignment>/``; nbgrader's ``generate_assignment`` copies them into the release,
and nbgrader's ``autograde`` copies them into every autograded folder (it overwrites a
submission's non-notebook files with the source's), so a student who uploads only the
notebook is graded on the same data. :func:`stale` compares arrays, not bytes, so a file
compressed by another zlib is not reported.

>>> sorted(ASSIGNMENT_DATA["ps5_keras"])
['digits_split.npz']
"""
from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import numpy as np

from . import data

# A fixed timestamp in the zip entries: the same arrays give the same file on every run.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _sparse_regression() -> dict[str, np.ndarray]:
    X, y, w_true = data.sparse_regression(n_samples=100, n_features=40, n_informative=5, noise=1.0, seed=1)
    return {"X": X, "y": y, "w_true": w_true}


def _diabetes_with_noise() -> dict[str, np.ndarray]:
    X, y, names, is_real = data.diabetes_with_noise()
    return {"X": X, "y": y, "feature_names": np.array(names), "is_real": is_real}


def _digits_split() -> dict[str, np.ndarray]:
    return dataclasses.asdict(data.digits_split(n_train=500, n_val=400, seed=0))


# assignment -> file name -> the arrays it holds
ASSIGNMENT_DATA = {
    "ps1_penalties": {"sparse_regression.npz": _sparse_regression, "diabetes_with_noise.npz": _diabetes_with_noise},
    "ps5_keras": {"digits_split.npz": _digits_split},
}


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """``np.savez_compressed`` of ``arrays``, with fixed zip timestamps (reproducible bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def _same(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    try:
        with np.load(path, allow_pickle=False) as f:
            return set(f.files) == set(arrays) and all(
                f[k].dtype == np.asarray(v).dtype and np.array_equal(f[k], v) for k, v in arrays.items())
    except (OSError, ValueError, zipfile.BadZipFile):
        return False


def stale(assignment: str, folder: Path) -> list[str]:
    """The data files of ``assignment`` that are missing from ``folder`` or hold other arrays."""
    return [name for name, make in ASSIGNMENT_DATA.get(assignment, {}).items()
            if not _same(Path(folder) / name, make())]


def write(assignment: str, folder: Path) -> list[str]:
    """Write the data files of ``assignment`` that are stale into ``folder``; return their names."""
    written = []
    for name, make in ASSIGNMENT_DATA.get(assignment, {}).items():
        arrays = make()
        path = Path(folder) / name
        if not _same(path, arrays):
            path.write_bytes(npz_bytes(arrays))
            written.append(name)
    return written
