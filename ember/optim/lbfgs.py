"""L-BFGS: a quasi-Newton method that builds a curvature model from the last few steps (with an optional
strong-Wolfe line search)."""
from __future__ import annotations

import numbers
from typing import Any, Callable, Iterable

import numpy as np

from ember.optim.optimizer import Optimizer, check_nonnegative
from ember.tensor import enable_grad, note_inplace

__all__ = ["LBFGS"]

LINE_SEARCHES = (None, "strong_wolfe")


def _check_count(name: str, value, what: str) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"invalid {what}: {name}={value!r}; it must be an integer >= 1")


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Nocedal, 1980), step for step as PyTorch's ``LBFGS``.

    Newton's method steps by ``−H⁻¹·g``; L-BFGS never forms the Hessian H but estimates ``H⁻¹·g`` from the
    last ``history_size`` pairs ``s = w_{k+1} − w_k``, ``y = g_{k+1} − g_k`` (the two-loop recursion)::

        q = −g
        for i = newest … oldest:   a_i = ρ_i·s_iᵀq;   q = q − a_i·y_i          (ρ_i = 1 / y_iᵀs_i)
        r = γ·q                                                               (γ = yᵀs / yᵀy, newest pair)
        for i = oldest … newest:   b_i = ρ_i·y_iᵀr;   r = r + (a_i − b_i)·s_i
        w = w + t·r                                                            (r is the direction d)

    A pair is kept only when ``yᵀs > 1e-10`` (the curvature is positive), which keeps the estimate
    positive definite. The first direction is −g with step ``t = min(1, 1/‖g‖₁)·lr``; later steps try
    ``t = lr`` (1 by default: the quasi-Newton step's natural length). With ``line_search_fn="strong_wolfe"``
    ``t`` is instead chosen by a line search that brackets and then zooms (cubic interpolation) until
    ``f(w + t·d) <= f(w) + 1e-4·t·gᵀd`` (enough decrease) and ``|g(w + t·d)ᵀd| <= 0.9·|gᵀd|`` (enough
    flattening). Without it the step is fixed, which can overshoot; the line search is the robust choice.

    One ``step(closure)`` runs up to ``max_iter`` iterations and about ``max_eval`` evaluations of the closure
    (the line search may take one more, as PyTorch's does), and stops early when the largest gradient entry
    is <= ``tolerance_grad``, or when the step or the change of the loss falls below ``tolerance_change``.
    The curvature pairs carry over from one ``step`` to the next. The closure must re-evaluate the model and
    return the loss, computing the gradients itself::

        optimizer = ember.optim.LBFGS([input_img])
        def closure():
            optimizer.zero_grad()
            loss = loss_fn(input_img)
            loss.backward()
            return loss
        optimizer.step(closure)

    ``step`` returns the loss of the closure's first evaluation (before this step's updates). It is meant
    for deterministic (full-batch) objectives: mini-batch noise breaks the curvature estimate.

    L-BFGS treats all parameters as one flat vector, so there is a single parameter group (no per-group
    options). Its state lives under the first parameter: ``d``, ``t``, the ``old_dirs`` (y) and ``old_stps``
    (s) histories with ``ro`` (ρ), ``H_diag`` (γ), ``prev_flat_grad``, ``prev_loss``, ``al``, and the counters
    ``func_evals`` and ``n_iter`` (PyTorch's names). The history holds ``2·history_size`` flat copies of the
    parameters: lower ``history_size`` for large models.

    Args:
        params: the parameters (one group).
        lr: step-length factor >= 0 (1: the plain quasi-Newton step).
        max_iter: iterations per ``step`` (>= 1).
        max_eval: closure evaluations per ``step`` (>= 1); default ``max_iter * 5 // 4``.
        tolerance_grad: stop when max |g| <= this (>= 0).
        tolerance_change: stop when the step or the change of the loss is below this (>= 0).
        history_size: how many (s, y) pairs to keep (>= 1).
        line_search_fn: None (fixed step) or ``"strong_wolfe"``.
    """

    def __init__(self, params: Iterable, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        _check_count("max_iter", max_iter, "number of iterations")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any]) -> None:
        super()._check_options(o)
        _check_count("max_iter", o["max_iter"], "number of iterations")
        _check_count("max_eval", o["max_eval"], "number of function evaluations")
        _check_count("history_size", o["history_size"], "history size")
        check_nonnegative("tolerance_grad", o["tolerance_grad"], "gradient tolerance")
        check_nonnegative("tolerance_change", o["tolerance_change"], "change tolerance")
        if o["line_search_fn"] not in LINE_SEARCHES:
            raise ValueError(f"invalid line_search_fn={o['line_search_fn']!r}; it must be None or 'strong_wolfe'")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): it optimizes all "
                             "parameters as one vector; give it a single list of parameters")
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ the parameters as one flat vector
    @property
    def _params(self) -> list:
        return self.param_groups[0]["params"]

    def _flat_dtype(self) -> np.dtype:
        return np.result_type(*[p.array.dtype for p in self._params])

    def _gather_flat_grad(self) -> np.ndarray:
        """The gradients of all parameters, raveled and concatenated (zeros for a parameter without one)."""
        views = [p.grad.array.reshape(-1) if p.grad is not None else np.zeros(p.array.size, p.array.dtype)
                 for p in self._params]
        return np.concatenate(views)

    def _add_grad(self, step_size, update: np.ndarray) -> None:
        """``w = w + step_size·update`` for the flat vector ``update``."""
        offset = 0
        for p in self._params:
            a = p.array
            part = update[offset:offset + a.size].reshape(a.shape)
            a += np.multiply(part, step_size, out=self._scratch(a, 0))
            offset += a.size
        note_inplace([p.array for p in self._params], "LBFGS.step()")

    def _clone_param(self) -> list[np.ndarray]:
        return [p.array.copy() for p in self._params]

    def _set_param(self, arrays: list[np.ndarray]) -> None:
        for p, a in zip(self._params, arrays):
            np.copyto(p.array, a)
        note_inplace([p.array for p in self._params], "LBFGS.step()")

    def _directional_evaluate(self, closure: Callable, x: list[np.ndarray], t, d: np.ndarray):
        """The loss and flat gradient at ``x + t·d``; the parameters are put back to ``x`` afterwards."""
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ------------------------------------------------------------------ the step
    def step(self, closure: Callable[[], Any] | None = None):
        """Run up to ``max_iter`` L-BFGS iterations; returns the closure's first loss.

        Args:
            closure: re-evaluates the model and returns the loss (it zeroes the gradients and calls
                ``backward()`` itself). Required: L-BFGS evaluates the function several times per step.
        """
        if closure is None:
            raise TypeError("LBFGS.step() needs a closure that re-evaluates the model and returns the loss, e.g. "
                            "def closure(): optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); "
                            "return loss -- then optimizer.step(closure)")
        if not callable(closure):
            raise TypeError(f"LBFGS.step() needs a callable closure, got {type(closure).__name__}")
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGS needs exactly one parameter group, it has {len(self.param_groups)}")

        def evaluate():
            with enable_grad():  # the closure records a graph even when step() runs under no_grad
                return closure()

        group = self.param_groups[0]
        lr = group["lr"]
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        self._step_count += 1

        # the state is global; it is kept under the first parameter (so state_dict numbers it 0)
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        # evaluate the initial f(x) and df/dx
        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        opt_cond = np.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:  # already optimal
            return orig_loss

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- the descent direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                # update the memory with the last step's pair
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:  # forget the oldest pair
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)  # the scale of the initial inverse Hessian

                # the two-loop recursion: d = −H⁻¹·g with the approximate inverse Hessian
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                if len(al) < num_old:  # history_size raised since the list was made
                    al.extend([None] * (num_old - len(al)))
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                np.copyto(prev_flat_grad, flat_grad)
            prev_loss = loss

            # ---- the step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr

            gtd = flat_grad.dot(d)  # the directional derivative
            if gtd > -tolerance_change:  # not a descent direction (any more)
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                                  max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                # a fixed step; re-evaluate except after the last iteration (the next step() evaluates anyway)
                self._add_grad(t, d)
                if n_iter != max_iter:
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stopping conditions
            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:  # the step is negligible
                break
            if abs(loss - prev_loss) < tolerance_change:  # the loss no longer changes
                break

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss

    # ------------------------------------------------------------------ saving and resuming
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by ``state_dict()``: the group's options and the flat-vector history."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("an optimizer state_dict must be a dict with the keys 'state' and 'param_groups'")
        saved = dict(state_dict["state"])
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        if not saved:
            return
        if len(saved) != 1 or int(next(iter(saved))) != 0:
            raise ValueError(f"an LBFGS state has one entry, for parameter 0; this one has entries for "
                             f"{sorted(int(k) for k in saved)}")
        dtype = self._flat_dtype()
        numel = sum(p.array.size for p in self._params)
        self.state[self._params[0]] = {k: _restore_entry(k, v, dtype, numel) for k, v in
                                       next(iter(saved.values())).items()}


def _restore_entry(key: str, value, dtype: np.dtype, numel: int):
    """One saved LBFGS state entry back in memory: flat vectors as private copies of the flat dtype."""
    def vector(v):
        a = np.array(getattr(v, "array", v), dtype=dtype, copy=True).reshape(-1)
        if a.size != numel:
            raise ValueError(f"loaded LBFGS state {key!r} has {a.size} entries, but the parameters have {numel}")
        return a

    def number(v):
        v = getattr(v, "array", v)
        if isinstance(v, np.ndarray):
            v = v.item()
        return v.item() if isinstance(v, np.generic) else v

    if key in ("d", "prev_flat_grad"):
        return None if value is None else vector(value)
    if key in ("old_dirs", "old_stps"):
        return [vector(v) for v in value]
    if key in ("ro", "al"):
        return [None if v is None else number(v) for v in value]
    if key in ("func_evals", "n_iter"):
        return int(number(value))
    return None if value is None else number(value)


# ------------------------------------------------------------------ the strong-Wolfe line search


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to ``bounds``
    (default: the interval between x1 and x2); the interval's midpoint when the cubic has no minimum."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    # most common case: cubic interpolation of 2 points with function and derivative values for both:
    #   d1 = g1 + g2 − 3(f1 − f2)/(x1 − x2);  d2 = √(d1² − g1·g2)
    #   min_pos = x2 − (x2 − x1)·(g2 + d2 − d1)/(g2 − g1 + 2·d2)
    with np.errstate(all="ignore"):  # degenerate brackets give inf/nan silently, as in PyTorch
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        d2_square = d1 ** 2 - g1 * g2
        if d2_square >= 0:
            d2 = np.sqrt(d2_square)
            if x1 <= x2:
                min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
            else:
                min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
            return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length ``t`` along ``d`` that satisfies the strong Wolfe conditions (or the best point found
    within ``max_ls`` evaluations). Returns (loss, flat gradient, t, number of evaluations)."""
    d_norm = np.abs(d).max()
    g = g.copy()
    # evaluate the objective and gradient with the initial step
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    # bracket an interval that contains a point satisfying the conditions
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:  # out of evaluations
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point satisfies the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:  # the bracket is tiny
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])

        # when t lands near an end of the bracket and the last trial made little progress (or t is at or
        # beyond an end), move it to 0.1 of the bracket's length from the nearest end
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # not enough decrease, or not below the lowest point: t is the new high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:  # the Wolfe conditions hold
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high end becomes the new low end
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            # t is the new low end
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    t = bracket[low_pos]
    return bracket_f[low_pos], bracket_g[low_pos], t, ls_func_evals
