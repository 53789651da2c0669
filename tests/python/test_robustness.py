"""Bad input anywhere gives a typed lamina error naming the op — never a crash or garbage."""
import pytest

import lamina

t = lamina.ones(3, 4)

BAD = [
    ("t[2**70]", lamina.IndexError), ("lamina.arange(0, 1e20, 1)", lamina.OutOfMemoryError),
    ("lamina.randint(-2**63, 2**63 - 1, (3,))", lamina.ValueError), ("t.view(2**40, -1)", lamina.ShapeError),
    ("lamina.zeros(*([1] * 17))", lamina.ShapeError), ("t.sum(dim=2**70)", lamina.DTypeError),
    ("lamina.eye(-1)", lamina.ValueError), ("lamina.linspace(0, 1, -1)", lamina.ValueError),
    ("t.narrow(0, -10, 2)", lamina.IndexError), ("lamina.one_hot(lamina.tensor([-1]))", lamina.ValueError),
    ("t.topk(-1)", lamina.IndexError), ("lamina.pad(t, (2**62, 2**62))", lamina.ShapeError),
    ("t.unsqueeze(2**62)", lamina.IndexError), ("lamina.empty(-5)", lamina.ValueError),
    ("lamina.from_dlpack(5)", lamina.DTypeError), ("t.to('tpu')", lamina.ValueError),
    ("t.diagonal(0, 0, 0)", lamina.ValueError), ("t.chunk(-1)", lamina.ValueError),
    ("lamina.zeros(2**31, 2**31, 4)", lamina.OutOfMemoryError), ("lamina.tensor([1]) // 0", lamina.ValueError),
    ("lamina.tensor([2]) ** -1", lamina.ValueError), ("lamina.where(t > 0, t, 'a')", lamina.DTypeError),
    ("lamina.linspace(0, 1, 2**62)", lamina.OutOfMemoryError), ("t.gather(5, lamina.tensor([[0]]))", lamina.IndexError),
]


@pytest.mark.parametrize("expr,error", BAD, ids=[e for e, _ in BAD])
def test_bad_input_raises_typed_error(expr, error):
    with pytest.raises(error) as info:
        eval(expr)
    assert str(info.value).startswith("[")
    assert isinstance(info.value, lamina.Error)
    assert t.tolist() == [[1.0] * 4] * 3
