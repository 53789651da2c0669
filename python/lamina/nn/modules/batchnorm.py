"""torch.nn.modules.batchnorm's names: BatchNorm1d / BatchNorm2d (C++ layers, in lamina.nn) and
SyncBatchNorm, whose training statistics are taken over every rank of a process group."""
import inspect

from ... import _lamina
from ...autograd import no_grad
from .. import functional as F
from ..module import Module, Parameter
from . import BatchNorm1d, BatchNorm2d

__all__ = ["BatchNorm1d", "BatchNorm2d", "SyncBatchNorm"]


class SyncBatchNorm(Module):
    """Batch normalization whose batch statistics in training are the whole global batch's:
    per-channel sums all-reduced over `process_group` (None: the world), through an all_reduce
    whose backward all-reduces the gradient, so the gradients are those of one big batch
    (torch.nn.SyncBatchNorm). In eval mode, or without an initialized group, it is BatchNorm."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        super().__init__()
        dt = dtype if dtype is not None else _lamina.float32
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.__dict__["process_group"] = process_group
        if self.affine:
            self.weight = Parameter(_lamina.ones(self.num_features, dtype=dt))
            self.bias = Parameter(_lamina.zeros(self.num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", _lamina.zeros(self.num_features, dtype=dt))
            self.register_buffer("running_var", _lamina.ones(self.num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", _lamina.tensor(0, dtype=_lamina.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def _group(self):
        from ... import distributed as dist

        if not dist.is_initialized():
            return None
        return self.process_group if self.process_group is not None else _lamina._distributed.default_group()

    def forward(self, input):
        if input.dim() < 2 or input.shape[1] != self.num_features:
            raise _lamina.ShapeError(f"[SyncBatchNorm] expected input of shape (N, {self.num_features}, ...), "
                                     f"got {tuple(input.shape)}")
        use_batch = self.training or not self.track_running_stats
        group = self._group() if use_batch else None
        if group is None or group.size() == 1:
            return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                                use_batch, 0.1 if self.momentum is None else self.momentum, self.eps)
        C = self.num_features
        dims = [0] + list(range(2, input.dim()))
        view = [1, C] + [1] * (input.dim() - 2)
        ar = _lamina._distributed.all_reduce_differentiable
        local_count = input.numel() // C
        # Global mean first, then the global variance around it (two reductions: no E[x^2] - mean^2
        # cancellation).
        stats = ar(_lamina.cat([input.sum(dims), _lamina.full((1,), float(local_count), dtype=input.dtype)]), group)
        count = float(stats[C].item())
        if count <= 1:
            raise _lamina.ValueError(f"[SyncBatchNorm] needs more than one value per channel over the group, "
                                     f"got {count:.0f}")
        mean = stats[:C] / count
        centered = input - mean.reshape(view)
        var = ar((centered * centered).sum(dims), group) / count
        out = centered * (var + self.eps).rsqrt().reshape(view)
        if self.affine:
            out = out * self.weight.reshape(view) + self.bias.reshape(view)
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
                m = (1.0 / float(self.num_batches_tracked.item())) if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - m).add_(mean.detach() * m)
                self.running_var.mul_(1 - m).add_(var.detach() * (count / (count - 1)) * m)
        return out

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm1d/2d replaced by a SyncBatchNorm holding its parameters and
        statistics (the module itself when it is one)."""
        if isinstance(module, (BatchNorm1d, BatchNorm2d)):
            args, kw = module.__dict__.get("_init_args", ((), {}))
            bound = inspect.signature(type(module).__init__).bind(module, *args, **kw)
            bound.apply_defaults()
            a = bound.arguments
            sync = cls(a["num_features"], eps=a["eps"], momentum=a["momentum"], affine=a["affine"],
                       track_running_stats=a["track_running_stats"], process_group=process_group,
                       dtype=a.get("dtype"))
            state = module.state_dict()
            sync.load_state_dict(state, strict=False)
            sync.train(module.training)
            return sync
        for name, child in list(module.named_children()):
            converted = cls.convert_sync_batchnorm(child, process_group)
            if converted is not child:
                setattr(module, name, converted)
        return module
