"""A short tour of lamina tensors and errors (`make demo` runs this until the training demo lands)."""
import numpy as np

import lamina

lamina.manual_seed(0)
print("devices:", lamina.devices()["cpu"]["features"], "| default device:", lamina.default_device())

x = lamina.arange(12, dtype=lamina.float32).reshape(3, 4)
print("x =\n", x)
print("x.T (a view, no copy):", x.T.shape, "strides", x.T.stride())
print("x[1:, ::-2] =\n", x[1:, ::-2])
print("x[x > 5] =", x[x > 5])
print("broadcast x + [10, 20, 30, 40] =\n", x + lamina.tensor([10.0, 20.0, 30.0, 40.0]))
print("x.sum(dim=1) =", x.sum(dim=1), "| x.max() =", x.max().item())
print("softmax rows:", lamina.softmax(x, dim=1)[0])
print("x @ x.T =\n", x @ x.T)
print("int + float promotes:", (lamina.tensor([1, 2]) + 0.5).dtype)

y = lamina.randn(2, 3)
print("randn:", y)
arr = y.numpy()  # zero-copy
arr[0, 0] = 42.0
print("after writing through numpy:", y[0, 0].item())
print("from_numpy shares memory:", lamina.from_numpy(np.ones(3)) )

for bad in (lambda: x + lamina.ones(5),
            lambda: x @ x,
            lambda: x[7],
            lambda: lamina.zeros(2, device="cuda")):
    try:
        bad()
    except lamina.Error as e:
        print(f"{type(e).__name__}: {e}")
