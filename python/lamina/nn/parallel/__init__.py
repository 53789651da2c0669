"""torch.nn.parallel's DistributedDataParallel on lamina.distributed (the reducer is C++:
lamina/distributed/reducer.cpp)."""
from __future__ import annotations

import contextlib

from ... import _lamina
from ..module import Module

_C = _lamina._distributed

__all__ = ["DistributedDataParallel"]


def _tensors_in(obj, out):
    """The tensors inside a forward's output (tensors, lists, tuples, dicts, dataclass-likes)."""
    if isinstance(obj, _lamina.Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors_in(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors_in(o, out)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        for o in vars(obj).values():
            if isinstance(o, (_lamina.Tensor, list, tuple, dict)):
                _tensors_in(o, out)
    return out


class DistributedDataParallel(Module):
    """Data-parallel training over a process group (torch.nn.parallel.DistributedDataParallel).

    At construction the module's parameters and buffers are copied from rank 0 to every rank.
    Each forward (with gradients on) arms the reducer; during backward the gradients are copied
    into buckets of about `bucket_cap_mb` MiB, in reverse parameter order, and each full bucket is
    all-reduced (averaged) asynchronously while backward goes on; at its end .grad holds the
    average over the ranks. `no_sync()` accumulates gradients locally for the backward passes
    inside it. `find_unused_parameters=True` lets a forward leave parameters out (they are
    reduced as zeros; those no rank used keep their .grad). `device_ids` / `output_device` are
    accepted for torch compatibility: the module runs where its tensors are."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None):
        super().__init__()
        from ... import distributed as dist

        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}")
        group = process_group if process_group is not None else _C.default_group()
        if group is dist.GroupMember.NON_GROUP_MEMBER:
            raise ValueError("DistributedDataParallel: this rank is not a member of process_group")
        self.module = module
        self.__dict__["process_group"] = group
        self.__dict__["broadcast_buffers"] = bool(broadcast_buffers)
        self.__dict__["find_unused_parameters"] = bool(find_unused_parameters)
        self.__dict__["bucket_cap_mb"] = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        self.__dict__["require_backward_grad_sync"] = True
        self.__dict__["device_ids"] = device_ids
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError("DistributedDataParallel: the module has no parameter that requires grad")
        state = [p for _, p in module.named_parameters()] + [b for _, b in module.named_buffers()]
        _C.broadcast_coalesced(state, group, 0)
        self.__dict__["reducer"] = _C.Reducer.create([p for _, p in named], [n for n, _ in named], group,
                                                     self.bucket_cap_mb, self.find_unused_parameters)

    def forward(self, *inputs, **kwargs):
        grad_on = _lamina.is_grad_enabled()
        if self.broadcast_buffers and self.training and grad_on and self.process_group.size() > 1:
            buffers = [b for _, b in self.module.named_buffers()]
            if buffers:
                _C.broadcast_coalesced(buffers, self.process_group, 0)
        out = self.module(*inputs, **kwargs)
        if grad_on and self.require_backward_grad_sync:
            self.reducer.prepare_for_backward(_tensors_in(out, []))
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients locally; the next one outside reduces them."""
        old = self.require_backward_grad_sync
        self.__dict__["require_backward_grad_sync"] = False
        try:
            yield
        finally:
            self.__dict__["require_backward_grad_sync"] = old

    def extra_repr(self):
        return f"bucket_cap_mb={self.bucket_cap_mb}, find_unused_parameters={self.find_unused_parameters}"
