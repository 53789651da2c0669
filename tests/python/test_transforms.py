"""Transforms against NumPy references (ToTensor, Normalize), crop and flip geometry, batches,
and determinism: the same seed gives the same samples, in and out of the DataLoader."""
import numpy as np
import pytest

import lamina
from lamina.utils.data import DataLoader, TensorDataset
from lamina.utils.data import transforms as T


def test_to_tensor_matches_torchvision_rule():
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    t = T.ToTensor()(img)
    assert t.dtype == lamina.float32 and t.shape == (3, 5, 7)
    np.testing.assert_allclose(t.numpy(), img.transpose(2, 0, 1).astype(np.float32) / 255, rtol=1e-6)
    gray = T.ToTensor()(lamina.tensor(img[:, :, 0]))
    assert gray.shape == (1, 5, 7)
    batch = T.ToTensor()(lamina.tensor(np.stack([img, img])))
    assert batch.shape == (2, 3, 5, 7)
    f = np.random.default_rng(1).random((4, 4, 2))
    np.testing.assert_array_equal(T.ToTensor()(f).numpy(), f.transpose(2, 0, 1))
    with pytest.raises(lamina.ShapeError):
        T.ToTensor()(lamina.zeros(3))


def test_normalize_matches_numpy():
    x = np.random.default_rng(2).random((3, 4, 5)).astype(np.float32)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    ref = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(T.Normalize(mean, std)(lamina.tensor(x)).numpy(), ref, rtol=1e-6, atol=1e-6)
    xb = np.stack([x, x * 2])
    refb = (xb - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(T.Normalize(mean, std)(lamina.tensor(xb)).numpy(), refb, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(T.Normalize(0.5, 0.5)(lamina.tensor(x)).numpy(), (x - 0.5) / 0.5, rtol=1e-6)
    with pytest.raises(lamina.ConfigError):
        T.Normalize([0.5], [0.0])
    with pytest.raises(lamina.ShapeError):
        T.Normalize([0.5, 0.5], [1, 1])(lamina.tensor(x))


def test_random_crop_is_a_window_of_the_zero_padded_image():
    img = np.arange(1, 1 + 2 * 6 * 7, dtype=np.float32).reshape(2, 6, 7)
    padded = np.pad(img, ((0, 0), (2, 2), (2, 2)))
    seen = set()
    lamina.manual_seed(0)
    for _ in range(300):
        c = T.RandomCrop((4, 5), padding=2)(lamina.tensor(img)).numpy()
        assert c.shape == (2, 4, 5)
        hits = [(i, j) for i in range(padded.shape[1] - 3) for j in range(padded.shape[2] - 4)
                if np.array_equal(padded[:, i:i + 4, j:j + 5], c)]
        assert len(hits) == 1
        seen.add(hits[0])
    assert len(seen) == 7 * 7  # every window position occurs
    with pytest.raises(lamina.ShapeError):
        T.RandomCrop(20)(lamina.tensor(img))


def test_random_horizontal_flip():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(lamina.tensor(x)).numpy(), x[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(lamina.tensor(x)).numpy(), x)
    lamina.manual_seed(1)
    flips = sum(np.array_equal(T.RandomHorizontalFlip()(lamina.tensor(x)).numpy(), x[:, :, ::-1]) for _ in range(400))
    assert 150 < flips < 250
    batch = np.stack([x] * 64)
    out = T.RandomHorizontalFlip()(lamina.tensor(batch)).numpy()
    flipped = [np.array_equal(o, x[:, :, ::-1]) for o in out]
    assert all(f or np.array_equal(o, x) for f, o in zip(flipped, out))
    assert 10 < sum(flipped) < 54  # each sample of a batch draws its own coin


def test_manual_seed_reproduces_outside_a_loader():
    x = lamina.tensor(np.random.default_rng(3).random((1, 8, 8)).astype(np.float32))
    t = T.Compose([T.RandomCrop(6, padding=1), T.RandomHorizontalFlip()])
    lamina.manual_seed(42)
    a = [t(x).numpy() for _ in range(5)]
    lamina.manual_seed(42)
    b = [t(x).numpy() for _ in range(5)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_transform_dataset_in_a_seeded_loader(num_workers):
    images = lamina.tensor(np.random.default_rng(4).integers(0, 256, (32, 8, 8, 3), dtype=np.uint8))
    labels = lamina.arange(32)
    t = T.Compose([T.ToTensor(), T.RandomCrop(6, padding=2), T.RandomHorizontalFlip(),
                   T.Normalize([0.5] * 3, [0.25] * 3)])
    ds = T.TransformDataset(TensorDataset(images, labels), t)
    assert ds._native is not None  # loaded entirely in C++

    def epoch(seed, workers):
        loader = DataLoader(ds, batch_size=8, shuffle=True, seed=seed, num_workers=workers)
        return [(x.numpy(), y.numpy()) for x, y in loader]

    a, b, c = epoch(7, num_workers), epoch(7, 0), epoch(8, num_workers)
    assert a[0][0].shape == (8, 3, 6, 6)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not all(np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c))
    # A Python transform in the chain goes through __getitem__ and still follows the seed.
    py = T.TransformDataset(TensorDataset(images, labels), T.Compose([t, lambda z: z * 2]))
    assert py._native is None
    loader = DataLoader(py, batch_size=8, shuffle=True, seed=7, num_workers=num_workers)
    for (xa, _), (xp, _) in zip(a, loader):
        np.testing.assert_allclose(xp.numpy(), xa * 2, rtol=1e-6)
