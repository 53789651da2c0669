"""Random numbers on a CUDA device against the CPU: the same seed and generator offset give the same
tensor on either device (the device runs the CPU's counter-based Philox). Uniform fills are
bit-exact; normal fills use the device's log and cos, which may differ from glibc's in the last bits
of a double, so they match within a few ulp in float64 and 1 ulp (rarely) in narrower dtypes. Dtypes, strided outputs, odd and empty
sizes, consecutive draws and dropout masks. Skipped where no GPU is usable."""
import numpy as np
import pytest

import lamina
from conftest import to_np

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")

FLOATS = [lamina.float32, lamina.float64, lamina.float16, lamina.bfloat16]
ULP = {lamina.float32: 2.0 ** -23, lamina.float64: 2.0 ** -52, lamina.float16: 2.0 ** -10, lamina.bfloat16: 2.0 ** -7}


def both(make, seed=1234):
    lamina.manual_seed(seed)
    c = make("cpu")
    lamina.manual_seed(seed)
    g = make("cuda")
    assert g.device.type == "cuda"
    return to_np(c).astype(np.float64), to_np(g.cpu()).astype(np.float64)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [0, 1, 7, 1000, 65537])
def test_rand_bit_exact(dtype, n):
    c, g = both(lambda d: lamina.rand(n, dtype=dtype, device=d))
    np.testing.assert_array_equal(g, c)
    assert ((g >= 0) & (g < 1)).all()


@pytest.mark.parametrize("dtype", FLOATS)
def test_uniform_range_and_strided_view_bit_exact(dtype):
    def make(d):
        base = lamina.zeros(9, 14, dtype=dtype, device=d)
        view = base.t()[1::3]
        view.uniform_(-2.0, 3.5)
        return base
    c, g = both(make)
    np.testing.assert_array_equal(g, c)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [1, 33, 100003])
def test_randn_matches_to_one_ulp(dtype, n):
    c, g = both(lambda d: lamina.randn(n, dtype=dtype, device=d))
    if dtype == lamina.float64:  # log (1 ulp) and cos (2 ulp) of the device's libdevice
        np.testing.assert_allclose(g, c, rtol=8 * ULP[dtype])
    else:  # a last-bit difference in double flips the rounding only rarely
        np.testing.assert_allclose(g, c, rtol=ULP[dtype])
        assert (g == c).mean() > 0.99


def test_normal_with_mean_and_std():
    def make(d):
        t = lamina.empty(5, 7, device=d)
        t.normal_(3.0, 0.25)
        return t
    c, g = both(make)
    np.testing.assert_allclose(g, c, rtol=2.0 ** -23)


def test_consecutive_draws_advance_the_same_counter():
    def make(d):
        a = lamina.rand(1001, device=d)
        b = lamina.randn(17, device=d)
        return lamina.cat([a, b, lamina.rand(5, device=d)])
    c, g = both(make, seed=7)
    np.testing.assert_allclose(g, c, rtol=2.0 ** -23)
    np.testing.assert_array_equal(g[:1001], c[:1001])
    np.testing.assert_array_equal(g[-5:], c[-5:])


def test_rand_like_and_dropout():
    c, g = both(lambda d: lamina.rand_like(lamina.zeros(4, 6, device=d)), seed=3)
    np.testing.assert_array_equal(g, c)
    c, g = both(lambda d: lamina.nn.functional.dropout(lamina.ones(300, device=d), 0.3, True), seed=4)
    np.testing.assert_array_equal(g, c)


@pytest.mark.parametrize("dtype", [lamina.int64, lamina.int32, lamina.int8, lamina.uint8, lamina.float32])
def test_randint_bit_exact(dtype):
    c, g = both(lambda d: lamina.randint(0, 100, (3, 333), dtype=dtype, device=d))
    np.testing.assert_array_equal(g, c)
    assert ((g >= 0) & (g < 100)).all()


def test_randint_wide_range_and_negative_low_bit_exact():
    c, g = both(lambda d: lamina.randint(-(2 ** 40), 2 ** 41, (1001,), device=d))
    np.testing.assert_array_equal(g, c)


@pytest.mark.parametrize("n", [0, 1, 17, 4099])
def test_randperm_on_device_matches_cpu(n):
    c, g = both(lambda d: lamina.randperm(n, device=d))
    np.testing.assert_array_equal(g, c)
    np.testing.assert_array_equal(np.sort(g), np.arange(n))
