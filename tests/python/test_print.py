"""repr matches PyTorch's format; set_printoptions controls it."""
import lamina


def test_repr_formats():
    assert repr(lamina.tensor([1.0, 2.0, 3.0])) == "tensor([1., 2., 3.])"
    assert repr(lamina.tensor([[1.5, -2.0], [3.0, 4.0]])) == "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]])"
    assert repr(lamina.tensor([1, 2, 3])) == "tensor([1, 2, 3])"
    assert repr(lamina.tensor([True, False])) == "tensor([ True, False])"
    assert repr(lamina.tensor(3.5)) == "tensor(3.5000)"
    assert repr(lamina.tensor([1e-5, 1e5])) == "tensor([1.0000e-05, 1.0000e+05])"
    assert repr(lamina.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(lamina.tensor([1, 2], dtype=lamina.int32)) == "tensor([1, 2], dtype=lamina.int32)"
    assert repr(lamina.tensor([1.5], dtype=lamina.float16)) == "tensor([1.5000], dtype=lamina.float16)"
    assert repr(lamina.arange(6.0).view(2, 3).T) == "tensor([[0., 3.],\n        [1., 4.],\n        [2., 5.]])"
    assert str(lamina.ones(1)) == "tensor([1.])"


def test_summarized_and_printoptions():
    big = lamina.arange(2000)
    assert repr(big) == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"
    m = lamina.zeros(100, 100)
    lines = repr(m).splitlines()
    assert len(lines) == 7 and lines[3].strip() == "...,"
    try:
        lamina.set_printoptions(precision=2, threshold=5, edgeitems=1)
        assert repr(lamina.tensor([0.123, 0.5])) == "tensor([0.12, 0.50])"
        assert repr(lamina.arange(10)) == "tensor([0,  ..., 9])"
        assert lamina.get_printoptions()["precision"] == 2
        lamina.set_printoptions(sci_mode=True)
        assert repr(lamina.tensor([1.5])) == "tensor([1.50e+00])"
    finally:
        lamina.set_printoptions(precision=4, threshold=1000, edgeitems=3, sci_mode=None)
    assert repr(lamina.tensor([0.5])) == "tensor([0.5000])"
