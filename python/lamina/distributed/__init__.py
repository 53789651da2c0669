"""Distributed training with torch.distributed's names: process groups over Gloo (CPU
tensors), NCCL (CUDA tensors) or MPI, the collectives, stores, and object collectives.

A PyTorch script's ``import torch.distributed as dist`` becomes ``import lamina.distributed as
dist``; ``python -m lamina.distributed.run`` launches it as torchrun does. Ranks passed to
collectives (src, dst) are world ranks, as in PyTorch, also with a subgroup.
"""
from __future__ import annotations

import datetime as _datetime
import io as _io
import pickle as _pickle

from .._lamina import _distributed as _C
from .._lamina import DistributedError, DistTimeoutError  # noqa: F401

ReduceOp = _C.ReduceOp
Work = _C.Work
Store = _C.Store
TCPStore = _C.TCPStore
FileStore = _C.FileStore
PrefixStore = _C.PrefixStore
ProcessGroup = _C.ProcessGroup

default_pg_timeout = _datetime.timedelta(minutes=30)


class Backend:
    """Backend names (torch.distributed.Backend)."""

    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"


class GroupMember:
    """torch.distributed.GroupMember: WORLD (the default group) and NON_GROUP_MEMBER."""

    WORLD = None
    NON_GROUP_MEMBER = object()


group = GroupMember  # torch.distributed.group.WORLD


def is_available() -> bool:
    """True: this build has distributed support (Gloo always)."""
    return True


def is_gloo_available() -> bool:
    return _C.backend_available("gloo")


def is_mpi_available() -> bool:
    return _C.backend_available("mpi")


def is_nccl_available() -> bool:
    return _C.backend_available("nccl")


def is_torchelastic_launched() -> bool:
    import os

    return "TORCHELASTIC_RUN_ID" in os.environ or "LAMINA_LAUNCHED" in os.environ


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Joins the job and makes the default group. init_method: "env://" (the default: MASTER_ADDR,
    MASTER_PORT, RANK, WORLD_SIZE), "tcp://host:port" or "file:///path"; or a `store` with rank and
    world_size. backend: "gloo", "nccl", "mpi" (None: gloo, or nccl for a device_id on CUDA)."""
    if backend is None:
        backend = "nccl" if device_id is not None and str(device_id).startswith("cuda") else "gloo"
    backend = str(backend).lower()
    if ":" in backend:  # "cpu:gloo,cuda:nccl": lamina groups carry one backend; CPU's is taken
        parts = dict(p.split(":", 1) for p in backend.split(","))
        backend = parts.get("cpu", next(iter(parts.values())))
    if store is not None and init_method is not None:
        raise ValueError("init_process_group: give init_method or store, not both")
    _C.init_process_group(backend, init_method or "env://", int(rank), int(world_size),
                          timeout if timeout is not None else default_pg_timeout, store)


def destroy_process_group(group=None):
    """Leaves the job (group None: every group)."""
    _C.destroy_process_group(_pg(group, allow_none=True) if group is not None else None)


def is_initialized() -> bool:
    return _C.is_initialized()


def _pg(group, allow_none=False):
    if group is None:
        return _C.default_group()
    if group is GroupMember.NON_GROUP_MEMBER:
        raise ValueError("this rank is not a member of the group")
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"expected a process group, got {type(group).__name__}")
    return group


def _member(group) -> bool:
    return group is not GroupMember.NON_GROUP_MEMBER


def get_rank(group=None) -> int:
    """This process's rank in `group` (None: the world); -1 when not a member."""
    if not _member(group):
        return -1
    return _pg(group).rank()


def get_world_size(group=None) -> int:
    """The number of ranks in `group` (None: the world); -1 when not a member."""
    if not _member(group):
        return -1
    return _pg(group).size()


def get_backend(group=None) -> str:
    return _pg(group).backend


def get_global_rank(group, group_rank: int) -> int:
    return _pg(group).world_ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    return _pg(group).group_rank(global_rank)


def get_process_group_ranks(group):
    return list(_pg(group).world_ranks)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False):
    """A group of the world ranks `ranks` (None: all). Every rank calls it in the same order;
    ranks outside it get GroupMember.NON_GROUP_MEMBER."""
    g = _C.new_group(sorted(ranks) if ranks is not None else [], timeout, backend or "")
    return GroupMember.NON_GROUP_MEMBER if g is None else g


def _root(g, world_rank, group_rank):
    """The group rank of a collective's root: group_rank when given, else world_rank's (0: None)."""
    return group_rank if group_rank is not None else g.group_rank(0 if world_rank is None else world_rank)


def _finish(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def _skip(group) -> bool:
    return not _member(group)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Replaces `tensor` on every rank by the reduction over the group's ranks."""
    if _skip(group):
        return None
    return _finish(_pg(group).all_reduce(tensor, op), async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """The reduction into `tensor` on world rank `dst` only."""
    if _skip(group):
        return None
    g = _pg(group)
    root = _root(g, dst, group_dst)
    return _finish(g.reduce(tensor, root, op), async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copies world rank `src`'s tensor into every rank's."""
    if _skip(group):
        return None
    g = _pg(group)
    root = _root(g, src, group_src)
    return _finish(g.broadcast(tensor, root), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] gets rank r's tensor."""
    if _skip(group):
        return None
    return _finish(_pg(group).all_gather(list(tensor_list), tensor), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """The ranks' inputs, concatenated in rank order, into one tensor."""
    if _skip(group):
        return None
    return _finish(_pg(group).all_gather_into_tensor(output_tensor, input_tensor), async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """This rank's part (dim 0 split in size() parts) of the reduction of `input`."""
    if _skip(group):
        return None
    return _finish(_pg(group).reduce_scatter_tensor(output, input, op), async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """On world rank `dst`, gather_list[r] gets rank r's tensor."""
    if _skip(group):
        return None
    g = _pg(group)
    root = _root(g, dst, group_dst)
    outs = list(gather_list) if (gather_list is not None and g.rank() == root) else []
    return _finish(g.gather(outs, tensor, root), async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """`tensor` gets scatter_list[rank] from world rank `src`."""
    if _skip(group):
        return None
    g = _pg(group)
    root = _root(g, src, group_src)
    ins = list(scatter_list) if (scatter_list is not None and g.rank() == root) else []
    return _finish(g.scatter(tensor, ins, root), async_op)


def isend(tensor, dst, group=None, tag=0):
    """Sends to world rank `dst`; returns a Work."""
    g = _pg(group)
    return g.send(tensor, g.group_rank(dst), tag)


def irecv(tensor, src=None, group=None, tag=0):
    """Receives from world rank `src` (None: any rank); returns a Work."""
    g = _pg(group)
    return g.recv(tensor, -1 if src is None else g.group_rank(src), tag)


def send(tensor, dst, group=None, tag=0):
    """Sends to world rank `dst` and waits."""
    isend(tensor, dst, group, tag).wait()


def recv(tensor, src=None, group=None, tag=0):
    """Receives from world rank `src` (None: any) and waits."""
    irecv(tensor, src, group, tag).wait()
    return src if src is not None else -1


class P2POp:
    """One send or receive of batch_isend_irecv (torch.distributed.P2POp)."""

    def __init__(self, op, tensor, peer, group=None, tag=0):
        if op not in (isend, irecv):
            raise ValueError("P2POp's op is lamina.distributed.isend or irecv")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag


def batch_isend_irecv(p2p_op_list):
    """Issues the sends and receives; returns their Work handles."""
    return [p.op(p.tensor, p.peer, p.group, p.tag) for p in p2p_op_list]


def barrier(group=None, async_op=False, device_ids=None):
    """Returns once every rank of the group has reached it."""
    if _skip(group):
        return None
    return _finish(_pg(group).barrier(), async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """barrier() that fails with DistTimeoutError after `timeout`."""
    work = _pg(group).barrier()
    work.wait(timeout)


def _dumps(obj) -> bytes:
    buf = _io.BytesIO()
    _pickle.Pickler(buf, protocol=_pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replaces object_list's items by world rank `src`'s (pickled: the peers are trusted, as
    in torch.distributed)."""
    if _skip(group):
        return
    g = _pg(group)
    root = _root(g, src, group_src)
    data = _dumps(list(object_list)) if g.rank() == root else b""
    got = _pickle.loads(g.broadcast_bytes(data, root))
    if len(got) != len(object_list):
        raise ValueError(f"broadcast_object_list: the source sent {len(got)} objects for a list of "
                         f"{len(object_list)}")
    object_list[:] = got


def all_gather_object(object_list, obj, group=None):
    """object_list[r] gets rank r's `obj` (pickled)."""
    if _skip(group):
        return
    g = _pg(group)
    if len(object_list) != g.size():
        raise ValueError(f"all_gather_object needs a list of {g.size()} entries, got {len(object_list)}")
    for r, b in enumerate(g.all_gather_bytes(_dumps(obj))):
        object_list[r] = _pickle.loads(b)


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """On world rank `dst`, object_gather_list[r] gets rank r's `obj`."""
    if _skip(group):
        return
    g = _pg(group)
    root = _root(g, dst, group_dst)
    everything = g.all_gather_bytes(_dumps(obj))
    if g.rank() == root:
        if object_gather_list is None or len(object_gather_list) != g.size():
            raise ValueError(f"gather_object: the destination needs a list of {g.size()} entries")
        for r, b in enumerate(everything):
            object_gather_list[r] = _pickle.loads(b)


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None, group=None,
                        group_src=None):
    """scatter_object_output_list[0] gets world rank `src`'s input list entry for this rank."""
    if _skip(group):
        return
    g = _pg(group)
    root = _root(g, src, group_src)
    data = _dumps(list(scatter_object_input_list)) if g.rank() == root else b""
    everything = _pickle.loads(g.broadcast_bytes(data, root))
    scatter_object_output_list[0] = everything[g.rank()]


__all__ = [
    "Backend", "DistributedError", "DistTimeoutError", "FileStore", "GroupMember", "P2POp", "PrefixStore",
    "ProcessGroup", "ReduceOp", "Store", "TCPStore", "Work", "all_gather", "all_gather_into_tensor",
    "all_gather_object", "all_reduce", "barrier", "batch_isend_irecv", "broadcast", "broadcast_object_list",
    "destroy_process_group", "gather", "gather_object", "get_backend", "get_global_rank", "get_group_rank",
    "get_process_group_ranks", "get_rank", "get_world_size", "init_process_group", "irecv", "is_available",
    "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available", "isend", "monitored_barrier",
    "new_group", "recv", "reduce", "reduce_scatter_tensor", "scatter", "scatter_object_list", "send",
]
