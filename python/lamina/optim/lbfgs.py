"""L-BFGS (torch.optim.LBFGS): a quasi-Newton method that re-evaluates the loss through a
closure several times per step, with a fixed step or a strong-Wolfe line search. It works on the parameters as one flat vector with lamina ops,
in the parameters' dtype, following PyTorch's update rule, stopping tests and state layout so a
script tuned for torch.optim.LBFGS takes the same steps."""
from .. import _lamina
from ..autograd import enable_grad, no_grad

__all__ = ["LBFGS"]


class LBFGS:
    """L-BFGS over one parameter group; step(closure) needs a closure that zeroes the gradients,
    computes the loss, calls backward and returns the loss."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if not 0.0 <= lr:
            raise _lamina.ConfigError(f"[LBFGS] invalid learning rate: {lr}")
        if max_iter < 1 or history_size < 1:
            raise _lamina.ConfigError(f"[LBFGS] max_iter and history_size must be positive, got {max_iter}, "
                                      f"{history_size}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise _lamina.ConfigError(f"[LBFGS] line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        params = list(params)
        if params and isinstance(params[0], dict):
            if len(params) != 1:
                raise _lamina.ValueError("[LBFGS] doesn't support per-parameter options (parameter groups)")
            group = dict(params[0])
            params = list(group.pop("params"))
        if not params:
            raise _lamina.ValueError("[LBFGS] optimizer got an empty parameter list")
        for p in params:
            if not isinstance(p, _lamina.Tensor) or not p.is_leaf:
                raise _lamina.ValueError("[LBFGS] can only optimize leaf tensors")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        self.defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval, "tolerance_grad": tolerance_grad,
                         "tolerance_change": tolerance_change, "history_size": history_size,
                         "line_search_fn": line_search_fn}
        self.param_groups = [dict(self.defaults, params=params)]
        self.state = {}
        self._params = params

    def __repr__(self):
        opts = "\n".join(f"    {k}: {v}" for k, v in self.param_groups[0].items() if k != "params")
        return f"LBFGS (\nParameter Group 0\n{opts}\n)"

    def add_param_group(self, group):
        """LBFGS has exactly one group (as in PyTorch)."""
        raise _lamina.ValueError("[LBFGS] doesn't support per-parameter options (parameter groups)")

    def zero_grad(self, set_to_none=True):
        """Clears (or zeroes) every parameter's gradient."""
        for p in self._params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    # ---- the flat view ---------------------------------------------------------------------
    def _flat_grad(self):
        parts = [(p.grad if p.grad is not None else _lamina.zeros(*p.shape, dtype=p.dtype)).reshape(-1)
                 for p in self._params]
        return _lamina.cat(parts, 0)

    def _add_step(self, t, direction):
        offset = 0
        with no_grad():
            for p in self._params:
                n = p.numel()
                p.add_(direction[offset:offset + n].reshape(*p.shape) * t)
                offset += n

    def _restore(self, values):
        with no_grad():
            for p, v in zip(self._params, values):
                p.copy_(v)

    @staticmethod
    def _dot(a, b):
        return float((a * b).sum())

    def step(self, closure):
        """Runs up to max_iter L-BFGS iterations; returns the closure's first loss."""
        if closure is None:
            raise _lamina.ValueError("[LBFGS] step() needs a closure that re-evaluates the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change, history = group["tolerance_grad"], group["tolerance_change"], group["history_size"]
        state = self.state.setdefault("lbfgs", {"func_evals": 0, "n_iter": 0})

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if float(g.abs().max()) <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        dirs, steps, ro = state.get("old_dirs", []), state.get("old_stps", []), state.get("ro", [])
        h_diag, prev_g, prev_loss = state.get("H_diag", 1.0), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                dirs, steps, ro, h_diag = [], [], [], 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = self._dot(y, s)
                if ys > 1e-10:  # keep the curvature pair only when it is positive (the update stays definite)
                    if len(dirs) == history:
                        dirs.pop(0), steps.pop(0), ro.pop(0)
                    dirs.append(y), steps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / self._dot(y, y)
                # Two-loop recursion: d = -H g with the stored pairs.
                alphas = [0.0] * len(dirs)
                q = -g
                for i in range(len(dirs) - 1, -1, -1):
                    alphas[i] = self._dot(steps[i], q) * ro[i]
                    q = q - dirs[i] * alphas[i]
                d = q * h_diag
                for i in range(len(dirs)):
                    beta = self._dot(dirs[i], d) * ro[i]
                    d = d + steps[i] * (alphas[i] - beta)
            prev_g = g.clone()
            prev_loss = loss
            t = min(1.0, 1.0 / float(g.abs().sum())) * lr if state["n_iter"] == 1 else lr
            if self._dot(g, d) > -tol_change:  # not a descent direction
                break
            step_evals = 0
            done = False
            if group["line_search_fn"] == "strong_wolfe":
                start = [p.detach().clone() for p in self._params]

                def evaluate(step):
                    self._add_step(step, d)
                    with enable_grad():
                        value = float(closure())
                    grad = self._flat_grad()
                    self._restore(start)
                    return value, grad

                loss, g, t, step_evals = _strong_wolfe(evaluate, t, d, loss, g, self._dot(g, d), tol_change)
                self._add_step(t, d)
                done = float(g.abs().max()) <= tol_grad
            else:
                self._add_step(t, d)
                if n_iter != max_iter:
                    with enable_grad():
                        loss = float(closure())
                    g = self._flat_grad()
                    done = float(g.abs().max()) <= tol_grad
                    step_evals = 1
            evals += step_evals
            state["func_evals"] += step_evals
            if n_iter == max_iter or evals >= max_eval or done:
                break
            if float((d * t).abs().max()) <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, old_dirs=dirs, old_stps=steps, ro=ro, H_diag=h_diag, prev_flat_grad=prev_g,
                     prev_loss=prev_loss)
        return orig_loss

    def state_dict(self):
        """{"state": {0: the L-BFGS memory}, "param_groups": [options with parameter indices]}."""
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        group["params"] = list(range(len(self._params)))
        return {"state": {0: dict(self.state["lbfgs"])} if "lbfgs" in self.state else {}, "param_groups": [group]}

    def load_state_dict(self, state_dict):
        """Restores options and memory saved by state_dict (ValueError for another parameter count)."""
        groups = state_dict.get("param_groups", [])
        if len(groups) != 1 or len(groups[0].get("params", [])) != len(self._params):
            raise _lamina.ValueError("[LBFGS] loaded state dict has a different number of parameters")
        self.param_groups[0].update({k: v for k, v in groups[0].items() if k != "params"})
        saved = state_dict.get("state", {})
        self.state = {"lbfgs": dict(next(iter(saved.values())))} if saved else {}


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer, within bounds, of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2;
    the middle of the bounds when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = disc ** 0.5
    if x1 <= x2:
        at = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        at = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(at, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, tolerance_change, c1=1e-4, c2=0.9, max_ls=25):
    """A step t along d meeting the strong Wolfe conditions (sufficient decrease c1, curvature c2):
    widen until a bracket holds a minimum, then shrink it by cubic interpolation. `evaluate(t)`
    returns (loss, flat gradient) at x + t d. Returns (loss, gradient, t, evaluations)."""
    d_norm = float(d.abs().max())
    f_new, g_new = evaluate(t)
    evals, gtd_new = 1, float((g_new * d).sum())
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    bracket = None
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = [[t, f_new, g_new, gtd_new]]
            done = True
            break
        if gtd_new >= 0:  # past the minimum along d
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new, gtd_new]]
            break
        lo, hi = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(lo, hi))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, float((g_new * d).sum()), ls_iter + 1
    if ls_iter == max_ls:
        bracket = [[0.0, f, g, gtd], [t, f_new, g_new, gtd_new]]

    # Zoom: bracket[low] always has the lower loss.
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    insufficient = False
    while not done and ls_iter < max_ls:
        (a, fa, _, ga), (b, fb, _, gb) = bracket
        if abs(b - a) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(a, fa, ga, b, fb, gb)
        top, bottom = max(a, b), min(a, b)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:  # too close to an end: move inside unless progress was made
            if insufficient or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals, gtd_new, ls_iter = evals + 1, float((g_new * d).sum()), ls_iter + 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new, gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = list(bracket[low])
            bracket[low] = [t, f_new, g_new, gtd_new]
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals
