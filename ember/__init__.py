"""ember: a deep-learning framework you can read — reverse-mode autograd on NumPy, PyTorch's names."""
from ember.dtypes import (  # noqa: F401
    bfloat16, bool_, double, float, float16, float32, float64, get_default_dtype, half, int, int8, int16, int32, int64,
    long, set_default_dtype, short, uint8,
)
from ember.random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: F401
from ember.tensor import (  # noqa: F401
    Function, Tensor, arange, as_tensor, empty, empty_like, enable_grad, eye, from_numpy, full, full_like,
    inference_mode, is_grad_enabled, is_tensor, linspace, no_grad, numel, ones, ones_like, rand, rand_like, randint,
    randint_like, randn, randn_like, randperm, set_grad_enabled, tensor, zeros, zeros_like,
)
from ember.devices import device  # noqa: F401
from ember import accelerator, amp, backends, cuda  # noqa: F401
from ember.amp import autocast  # noqa: F401
from ember.compile import compile, get_float32_matmul_precision, set_float32_matmul_precision  # noqa: F401,A004
from ember.backends import (  # noqa: F401
    are_deterministic_algorithms_enabled, is_deterministic_algorithms_warn_only_enabled, use_deterministic_algorithms,
)
from ember.ops.api import (  # noqa: F401
    abs, add, allclose, amax, amin, argmax, argmin, bmm, broadcast_to, cat, chunk, clamp, clip, concat, div, eq,
    equal, exp, expand, expm1, flatten, flip, gather, ge, gt, index_select, isfinite, isinf, isnan, le, log, log1p,
    log_softmax, logsumexp, lt, masked_fill, matmul, max, maximum, mean, min, minimum, mm, mul, narrow, ne, neg, pad,
    permute, pow, prod, relu, repeat, reshape, rsqrt, sigmoid, sign, silu, softmax, split, sqrt, square, squeeze,
    stack, std, sub, sum, t, tanh, topk, transpose, unbind, unsqueeze, var, where,
)
from ember.ops.api import (  # noqa: F401
    aminmax, arctan2, argsort, argwhere, atan2, ceil, clamp_max, clamp_min, cos, count_nonzero, cumprod, cumsum,
    diag, dot, einsum, erf, fix, floor, frac, ger, isclose, lerp, log2, log10, logical_and, logical_not,
    logical_or, logical_xor, masked_select, median, meshgrid, moveaxis, movedim, nonzero, outer, reciprocal,
    repeat_interleave, roll, round, scatter, scatter_add, sin, sort, std_mean, take, tan, tril, triu, trunc,
    unique, var_mean,
)
from ember.ops.sampling import bincount, histc, multinomial  # noqa: F401  (also installs the Tensor methods)
from ember.ops.cdist import cdist  # noqa: F401
from ember.ops.indexing import (  # noqa: F401,A004  (also installs the Tensor methods)
    all, any, bernoulli, bucketize, heaviside, index_add, index_copy, index_fill, isin, kthvalue, logspace, mode,
    nan_to_num, nanmean, nanquantile, nansum, normal, quantile, scatter_reduce, searchsorted, sgn,
)
from ember.dtypes import finfo, iinfo  # noqa: F401
from ember.tensor import get_printoptions, set_printoptions  # noqa: F401
from ember.ops.combine import (  # noqa: F401  (also installs the Tensor methods)
    addbmm, addmm, addmv, adjoint, baddbmm, block_diag, cartesian_prod, column_stack, combinations, cross, diff,
    dstack, hstack, kron, mv, rot90, row_stack, tensordot, tile, trace, vstack,
)

bool = bool_  # noqa: A001 - ember.bool like torch.bool

from ember.legacy import (  # noqa: E402,F401
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor, Size,
)

from ember.ops.api import with_out as _with_out  # noqa: E402

# torch.add(a, b, out=c), torch.matmul(x, y, out=z): the torch-level functions take out=; Tensor operators do not
add, sub, mul, div, pow, maximum, minimum, matmul, mm, bmm, cat, concat, stack = map(  # noqa: A001
    _with_out, (add, sub, mul, div, pow, maximum, minimum, matmul, mm, bmm, cat, concat, stack))

from ember.backend import memory as _memory  # noqa: E402

_memory.apply()  # reuse freed memory across steps (see ember/backend/memory.py); EMBER_MALLOC_TUNING=0 disables

from ember.backend.threads import get_num_threads, set_num_threads  # noqa: E402,F401

get_num_threads()  # ember's thread pool, single-threaded BLAS inside it (see ember/backend/threads.py)

__version__ = "0.1.0"


def __getattr__(name):
    # heavier subpackages load on first use: ember.nn, ember.optim, ember.data, ...
    import importlib

    if name in {"nn", "optim", "data", "models", "train", "diagnose", "tune", "lab", "viz", "backend", "ops",
                "utils", "autograd", "vision", "distributions", "linalg"}:
        return importlib.import_module(f"ember.{name}")
    if name in {"save", "load"}:
        from ember import serialization

        return getattr(serialization, name)
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
