"""Variable-length batches for recurrent layers (torch.nn.utils.rnn).

A PackedSequence stores a batch of sequences step by step: step t contributes the rows of the
batch_sizes[t] sequences still running, longest first, so a recurrent layer does no work on
padding. Packing and padding are made of lamina ops, so gradients flow through both.
"""
from collections import namedtuple

from ... import _lamina

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence"]


def _int64(values):
    return _lamina.tensor(list(values), dtype=_lamina.int64)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Packed rows (sum(batch_sizes), *) with the batch size of each step; sorted_indices maps
    the packed order to the caller's batch order (None when the batch came sorted)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise _lamina.ValueError("PackedSequence needs batch_sizes; build one with pack_padded_sequence")
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """The same packing with data moved or cast (Tensor.to's arguments)."""
        return type(self)(self.data.to(*args, **kwargs), self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    @property
    def is_cuda(self):
        """Whether the data is on a GPU."""
        return self.data.is_cuda


def _invert(permutation):
    order = permutation.tolist()
    inverse = [0] * len(order)
    for i, p in enumerate(order):
        inverse[p] = i
    return _int64(inverse)


def _lengths_list(lengths):
    if isinstance(lengths, _lamina.Tensor):
        if lengths.dim() != 1:
            raise _lamina.ShapeError(f"[pack_padded_sequence] lengths must be 1-D, got shape {tuple(lengths.shape)}")
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a padded batch (T, B, *) ((B, T, *) with batch_first) whose sequence b has
    lengths[b] steps. With enforce_sorted=False the batch may come in any order."""
    lengths = _lengths_list(lengths)
    if input.dim() < 2:
        raise _lamina.ShapeError(f"[pack_padded_sequence] input must be at least 2-D, got shape {tuple(input.shape)}")
    batch_dim = 0 if batch_first else 1
    batch, steps = input.shape[batch_dim], input.shape[1 - batch_dim]
    if len(lengths) != batch:
        raise _lamina.ShapeError(f"[pack_padded_sequence] {len(lengths)} lengths for a batch of {batch}")
    if any(n <= 0 for n in lengths):
        raise _lamina.ValueError("[pack_padded_sequence] every sequence length must be greater than 0")
    if max(lengths) > steps:
        raise _lamina.ShapeError(f"[pack_padded_sequence] a length of {max(lengths)} exceeds the {steps} padded steps")
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise _lamina.ValueError("[pack_padded_sequence] lengths must be sorted in decreasing order when "
                                     "enforce_sorted=True; pass enforce_sorted=False to pack an unsorted batch")
        sorted_indices = None
    else:
        order = sorted(range(batch), key=lambda b: -lengths[b])
        sorted_indices = _int64(order)
        lengths = [lengths[b] for b in order]
        input = input.index_select(batch_dim, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    batch_sizes = [sum(1 for n in lengths if n > t) for t in range(lengths[0])]
    data = _lamina.cat([input[t, :bs] for t, bs in enumerate(batch_sizes)], 0)
    return PackedSequence(data, _int64(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The padded batch (T, B, *) of a PackedSequence and each sequence's length, in the
    caller's original batch order; total_length pads to that many steps."""
    data, batch_sizes, _, unsorted_indices = sequence
    sizes = [int(v) for v in batch_sizes.tolist()]
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise _lamina.ValueError(f"[pad_packed_sequence] total_length={total_length} is shorter than the longest "
                                     f"sequence ({steps} steps)")
        steps = total_length
    batch = sizes[0] if sizes else 0
    tail = tuple(data.shape[1:])
    rows, start = [], 0
    for bs in sizes:
        step = data[start:start + bs]
        start += bs
        if bs < batch:
            step = _lamina.cat([step, _lamina.full((batch - bs,) + tail, padding_value, dtype=data.dtype,
                                                   device=data.device)], 0)
        rows.append(step)
    for _ in range(steps - len(sizes)):
        rows.append(_lamina.full((batch,) + tail, padding_value, dtype=data.dtype, device=data.device))
    padded = _lamina.stack(rows, 0)
    lengths = [sum(1 for bs in sizes if bs > b) for b in range(batch)]
    if unsorted_indices is not None:
        padded = padded.index_select(1, unsorted_indices)
        lengths = [lengths[i] for i in unsorted_indices.tolist()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _int64(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stacks tensors (L_i, *) into (max L, B, *) ((B, max L, *) with batch_first), padding
    each on padding_side ("right" or "left") with padding_value."""
    if padding_side not in ("right", "left"):
        raise _lamina.ValueError(f'[pad_sequence] padding_side must be "left" or "right", got {padding_side!r}')
    sequences = list(sequences)
    if not sequences:
        raise _lamina.ValueError("[pad_sequence] received an empty list of sequences")
    tail = tuple(sequences[0].shape[1:])
    for s in sequences:
        if tuple(s.shape[1:]) != tail:
            raise _lamina.ShapeError(f"[pad_sequence] every sequence needs trailing shape {tail}, got "
                                     f"{tuple(s.shape[1:])}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        gap = longest - s.shape[0]
        if gap:
            fill = _lamina.full((gap,) + tail, padding_value, dtype=s.dtype, device=s.device)
            s = _lamina.cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return _lamina.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of tensors (L_i, *) directly (pad_sequence then pack_padded_sequence)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of tensors a padded batch holds, sequence b cut to lengths[b] steps."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, :n] for b, n in enumerate(_lengths_list(lengths))]


def unpack_sequence(packed_sequences):
    """The list of tensors a PackedSequence holds, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
