"""Data preprocessing fitted on the training split and applied unchanged to validation and test.

Each preprocessor has ``fit(x)`` (statistics of the training data), ``__call__(x)`` (apply),
``inverse(x)`` (undo) and ``state_dict()``/``load_state_dict()`` holding only NumPy arrays, so a
checkpoint can carry the exact transform the model was trained behind. ``x`` may be an ndarray,
an ember Tensor (the result is a Tensor) or, for ``fit``, a dataset with ``arrays()`` (its uint8
pixels are first scaled to [0, 1]). Statistics are computed in float64.

Which axes a statistic is taken over (``mode``):

* ``"channel"`` — one value per channel (axis 1), over the batch and all positions; for (N, D)
  data every feature is a channel. The notes' "per-channel mean".
* ``"feature"`` — one value per feature/pixel, over the batch only.
* ``"global"`` — a single value.

The formulas (``mu``, ``sigma``: mean and population standard deviation over those axes):

* :class:`ZeroCenter` ``x - mu``
* :class:`Standardize` (z-score) ``(x - mu) / max(sigma, eps)``
* :class:`MinMaxScale` ``a + (x - min) (b - a) / (max - min)`` into ``feature_range=(a, b)``
* :class:`DecimalScale` ``x / 10^j``, ``j`` the smallest integer with ``max|x| / 10^j < 1``

and on flattened samples (N, D), with the covariance ``C = Xc^T Xc / (N - 1)`` of the centred
data ``Xc = X - mu`` eigen-decomposed as ``C = U diag(lambda) U^T`` (eigenvalues descending):

* :class:`PCA` ``z = Xc U_k`` keeps k components (an int, or a variance fraction in (0, 1):
  the smallest k whose ``sum(lambda_1..k) / sum(lambda)`` reaches it); ``inverse: z U_k^T + mu``
  (exact when k = D, the best rank-k reconstruction otherwise)
* :class:`PCAWhitening` ``z = Xc U_k diag(1 / sqrt(lambda + eps))`` — decorrelated, unit variance
* :class:`ZCAWhitening` ``x' = Xc U diag(1 / sqrt(lambda + eps)) U^T`` — white like PCA whitening
  but rotated back, so x' stays as close to x as possible and keeps the image shape.
"""
from __future__ import annotations

import numpy as np

from ember.data.dataset import to_float
from ember.tensor import Tensor

MODES = ("channel", "feature", "global")


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    return mode


def _data(x) -> np.ndarray:
    """Fit/apply input as a float array: datasets via arrays(), Tensors unwrapped, uint8 scaled to [0, 1]."""
    if hasattr(x, "arrays") and not isinstance(x, (np.ndarray, Tensor)):
        x = x.arrays()[0]
    a = to_float(x) if (isinstance(x, Tensor) or np.asarray(x).dtype == np.uint8) else np.asarray(x)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"preprocessing needs numeric data, got dtype {a.dtype}")
    if a.dtype.kind != "f":
        a = a.astype(np.float32)
    return a


class Preprocessor:
    """Base class: the fit/apply/inverse/state protocol and Tensor handling."""

    name = ""
    _state_keys: tuple[str, ...] = ()

    def __init__(self):
        self.fitted = False

    # -- to implement
    def _fit(self, x: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inverse(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- protocol
    def fit(self, x) -> "Preprocessor":
        """Compute the statistics on (training) data; returns self."""
        a = _data(x)
        if a.ndim < 2 or a.shape[0] < 2:
            raise ValueError(f"{type(self).__name__}.fit needs a batch of at least 2 samples, got shape {a.shape}")
        self._fit(a.astype(np.float64))
        self.fitted = True
        return self

    def fit_transform(self, x):
        return self.fit(x)(x)

    def _run(self, fn, x):
        if not self.fitted:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call .fit(training_data) first")
        is_tensor = isinstance(x, Tensor)
        a = _data(x)
        out = fn(a)
        out = out.astype(a.dtype if a.dtype.itemsize >= 4 else np.float32, copy=False)
        return Tensor._wrap(out) if is_tensor else out

    def __call__(self, x):
        return self._run(self._apply, x)

    transform = __call__

    def inverse(self, x):
        """Undo the transform (see each class for what is exactly recoverable)."""
        return self._run(self._inverse, x)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted statistics and numeric settings, as NumPy arrays."""
        if not self.fitted:
            raise RuntimeError(f"{type(self).__name__} is not fitted; nothing to save")
        return {k: np.array(getattr(self, k)) for k in self._state_keys}

    def load_state_dict(self, state: dict) -> None:
        missing = [k for k in self._state_keys if k not in state]
        if missing:
            raise KeyError(f"{type(self).__name__} state lacks {', '.join(missing)}; has {', '.join(state)}")
        for k in self._state_keys:
            v = state[k]
            setattr(self, k, np.array(v.array if isinstance(v, Tensor) else v, dtype=np.float64))
        self._check_state()
        self.fitted = True

    def _check_state(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'fitted' if self.fitted else 'not fitted'})"


# ----------------------------------------------------------------------------- element-wise


class _Elementwise(Preprocessor):
    """Statistics kept with the reduced axes as size 1, so they broadcast against the batch."""

    def __init__(self, mode: str = "channel"):
        super().__init__()
        self.mode = _check_mode(mode)

    def _axes(self, x: np.ndarray) -> tuple[int, ...]:
        if self.mode == "global":
            return tuple(range(x.ndim))
        if self.mode == "feature":
            return (0,)
        return (0,) + tuple(range(2, x.ndim))

    def _align(self, x: np.ndarray) -> np.ndarray:
        """Check ``x`` matches the fitted layout, so a mismatch is an error and not a silent broadcast."""
        ref = getattr(self, self._state_keys[0])
        if x.ndim != ref.ndim or any(r != 1 and r != s for r, s in zip(ref.shape[1:], x.shape[1:])):
            raise ValueError(
                f"{type(self).__name__} was fitted on samples of shape {ref.shape[1:]} (statistics {ref.shape}); "
                f"cannot apply it to data of shape {x.shape}"
            )
        return x

    def _run(self, fn, x):
        def run(a):
            single = a.ndim == getattr(self, self._state_keys[0]).ndim - 1  # one sample, no batch axis
            out = fn(self._align(a[None] if single else a))
            return out[0] if single else out

        return super()._run(run, x)


class ZeroCenter(_Elementwise):
    """``x - mu``: subtract the (per-channel by default) training mean."""

    name = "center"
    _state_keys = ("mean",)

    def _fit(self, x):
        self.mean = x.mean(axis=self._axes(x), keepdims=True)

    def _apply(self, x):
        return x - self.mean

    def _inverse(self, x):
        return x + self.mean


class Standardize(_Elementwise):
    """z-score ``(x - mu) / max(sigma, eps)``: zero mean, unit variance (sigma: population std)."""

    name = "standardize"
    _state_keys = ("mean", "std", "eps")

    def __init__(self, mode: str = "channel", eps: float = 1e-8):
        super().__init__(mode)
        self.eps = float(eps)

    def _fit(self, x):
        axes = self._axes(x)
        self.mean = x.mean(axis=axes, keepdims=True)
        self.std = x.std(axis=axes, keepdims=True)

    def _scale(self):
        return np.maximum(self.std, self.eps)  # a constant pixel (always 0) is only centred

    def _apply(self, x):
        return (x - self.mean) / self._scale()

    def _inverse(self, x):
        return x * self._scale() + self.mean


class MinMaxScale(_Elementwise):
    """``a + (x - min) (b - a) / (max - min)``: the training range onto ``feature_range=(a, b)``."""

    name = "minmax"
    _state_keys = ("min", "max", "low", "high")

    def __init__(self, feature_range=(0.0, 1.0), mode: str = "channel"):
        super().__init__(mode)
        low, high = feature_range
        if not high > low:
            raise ValueError(f"feature_range must be (low, high) with high > low, got {feature_range}")
        self.low, self.high = float(low), float(high)

    def _fit(self, x):
        axes = self._axes(x)
        self.min = x.min(axis=axes, keepdims=True)
        self.max = x.max(axis=axes, keepdims=True)

    def _span(self):
        span = self.max - self.min
        return np.where(span > 0, span, 1.0)  # a constant feature maps to `low`

    def _apply(self, x):
        return self.low + (x - self.min) * ((self.high - self.low) / self._span())

    def _inverse(self, x):
        return (x - self.low) * (self._span() / (self.high - self.low)) + self.min


class DecimalScale(_Elementwise):
    """``x / 10^j`` with ``j`` the smallest integer such that ``max|x / 10^j| < 1`` on the training data."""

    name = "decimal"
    _state_keys = ("exponent",)

    def __init__(self, mode: str = "global"):
        super().__init__(mode)

    def _fit(self, x):
        peak = np.abs(x).max(axis=self._axes(x), keepdims=True)
        safe = np.where(peak > 0, peak, 1.0)
        j = np.floor(np.log10(safe)) + 1
        # floor(log10) can be off by one at exact powers of ten in floating point; settle it exactly
        j = np.where(peak / 10.0 ** (j - 1) < 1, j - 1, j)
        self.exponent = np.where(peak > 0, j, 0.0)

    def _apply(self, x):
        return x / 10.0 ** self.exponent

    def _inverse(self, x):
        return x * 10.0 ** self.exponent


# ----------------------------------------------------------------------------- PCA family


class _Spectral(Preprocessor):
    """Shared fitting for PCA and whitening: mean and covariance eigen-decomposition of flat samples."""

    def _flat(self, x: np.ndarray) -> np.ndarray:
        d = self.mean.shape[0]
        if x.ndim >= 2 and int(np.prod(x.shape[1:])) == d:
            return x.reshape(x.shape[0], d)
        raise ValueError(
            f"{type(self).__name__} was fitted on {d} features (samples of shape "
            f"{tuple(self.sample_shape.astype(int))}); cannot apply it to data of shape {x.shape}"
        )

    def _eig(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = x.reshape(x.shape[0], -1)
        self.sample_shape = np.array(x.shape[1:], dtype=np.float64)
        self.mean = flat.mean(axis=0)
        centred = flat - self.mean
        cov = centred.T @ centred / (flat.shape[0] - 1)
        lam, vec = np.linalg.eigh(cov)
        lam, vec = np.clip(lam[::-1], 0.0, None), vec[:, ::-1]
        # fix each eigenvector's sign (largest |entry| positive) so refits give the same components
        signs = np.sign(vec[np.argmax(np.abs(vec), axis=0), np.arange(vec.shape[1])])
        return lam, vec * np.where(signs == 0, 1.0, signs)

    def _unflatten(self, flat: np.ndarray) -> np.ndarray:
        return flat.reshape((flat.shape[0],) + tuple(self.sample_shape.astype(int)))


class PCA(_Spectral):
    """Project flattened samples onto the top principal components: ``z = (x - mu) U_k``.

    ``n_components``: an int k, a fraction in (0, 1) of the variance to keep, or None for all.
    After fitting, ``explained_variance`` holds the kept ``lambda`` and
    ``explained_variance_ratio`` their share of the total.
    """

    name = "pca"
    _state_keys = ("mean", "components", "explained_variance", "total_variance", "sample_shape")
    whiten = False

    def __init__(self, n_components: int | float | None = None, eps: float = 0.0):
        super().__init__()
        if n_components is not None:
            if isinstance(n_components, float) and not float(n_components).is_integer():
                if not 0.0 < n_components < 1.0:
                    raise ValueError(f"a variance fraction must be in (0, 1), got {n_components}")
            elif int(n_components) < 1:
                raise ValueError(f"n_components must be >= 1, got {n_components}")
        self.n_components = n_components
        self.eps = float(eps)

    def _k(self, lam: np.ndarray) -> int:
        nc = self.n_components
        if nc is None:
            return lam.size
        if isinstance(nc, float) and not nc.is_integer():
            ratio = np.cumsum(lam) / max(lam.sum(), np.finfo(float).tiny)
            return int(min(np.searchsorted(ratio, nc - 1e-12) + 1, lam.size))
        if int(nc) > lam.size:
            raise ValueError(f"n_components={nc} exceeds the {lam.size} features of the data")
        return int(nc)

    def _fit(self, x):
        lam, vec = self._eig(x)
        k = self._k(lam)
        self.components = vec[:, :k].T  # (k, D), rows are the principal directions
        self.explained_variance = lam[:k]
        self.total_variance = np.array(lam.sum())

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        return self.explained_variance / max(float(self.total_variance), np.finfo(float).tiny)

    def _scale(self) -> np.ndarray:
        return np.sqrt(self.explained_variance + self.eps) if self.whiten else np.ones_like(self.explained_variance)

    def _apply(self, x):
        flat = self._flat(x)
        return (flat - self.mean) @ self.components.T / self._scale()

    def _inverse(self, z):
        k = self.components.shape[0]
        if z.ndim != 2 or z.shape[1] != k:
            raise ValueError(f"{type(self).__name__}.inverse expects (N, {k}) codes, got shape {z.shape}")
        return self._unflatten((z * self._scale()) @ self.components + self.mean)

    def _check_state(self):
        k, d = self.components.shape
        if self.mean.shape != (d,) or self.explained_variance.shape != (k,):
            raise ValueError(f"inconsistent {type(self).__name__} state: mean {self.mean.shape}, components "
                             f"{self.components.shape}, explained_variance {self.explained_variance.shape}")


class PCAWhitening(PCA):
    """PCA whitening: ``z = (x - mu) U_k diag(1 / sqrt(lambda + eps))`` — identity covariance on the training data.

    ``eps`` keeps near-zero eigenvalues from blowing up noise.
    """

    name = "pca_whiten"
    whiten = True
    _state_keys = PCA._state_keys + ("eps",)

    def __init__(self, n_components: int | float | None = None, eps: float = 1e-5):
        super().__init__(n_components, eps)


class ZCAWhitening(_Spectral):
    """ZCA whitening: ``x' = (x - mu) W`` with ``W = U diag(1 / sqrt(lambda + eps)) U^T``; keeps the input shape.

    The inverse ``x' U diag(sqrt(lambda + eps)) U^T + mu`` is exact.
    """

    name = "zca"
    _state_keys = ("mean", "eigenvectors", "eigenvalues", "eps", "sample_shape")

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.eps = float(eps)

    def _fit(self, x):
        self.eigenvalues, self.eigenvectors = self._eig(x)

    def _matrix(self, power: float) -> np.ndarray:
        return (self.eigenvectors * (self.eigenvalues + self.eps) ** power) @ self.eigenvectors.T

    def _apply(self, x):
        flat = self._flat(x)
        return self._unflatten((flat - self.mean) @ self._matrix(-0.5))

    def _inverse(self, x):
        flat = self._flat(x)
        return self._unflatten(flat @ self._matrix(0.5) + self.mean)


PREPROCESSORS = {cls.name: cls for cls in (ZeroCenter, Standardize, MinMaxScale, DecimalScale, PCA, PCAWhitening,
                                           ZCAWhitening)}


def make_preprocessor(name: str, **kwargs) -> Preprocessor:
    """A preprocessor by name: center, standardize, minmax, decimal, pca, pca_whiten or zca."""
    try:
        cls = PREPROCESSORS[name]
    except KeyError:
        raise ValueError(f"unknown preprocessing {name!r}; valid: {', '.join(PREPROCESSORS)}") from None
    return cls(**kwargs)
