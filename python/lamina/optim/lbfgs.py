"""L-BFGS (torch.optim.LBFGS): a quasi-Newton method that re-evaluates the loss through a
closure several times per step. It works on the parameters as one flat vector with lamina ops,
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
        if line_search_fn is not None:
            raise _lamina.ConfigError(f"[LBFGS] line_search_fn={line_search_fn!r} is not supported; use None "
                                      "(a fixed step of lr)")
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
            self._add_step(t, d)
            step_evals = 0
            done = False
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
