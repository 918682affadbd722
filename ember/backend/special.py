"""Special functions NumPy lacks. ``erf`` comes from SciPy when installed, else from ``math.erf``."""
from __future__ import annotations

import math

import numpy as np

try:  # SciPy's vectorised erf is exact and fast
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover - exercised only without SciPy
    _erf = np.vectorize(math.erf, otypes=[np.float64])


def erf(x: np.ndarray) -> np.ndarray:
    return np.asarray(_erf(x), dtype=x.dtype)
