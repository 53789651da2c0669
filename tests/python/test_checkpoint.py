"""lamina.train.Checkpointer: atomic saves under SIGKILL, bit-identical resume of the Fashion-MNIST
examples (MLP and CNN), the Python-side random generators, keep-last pruning, and failed loads
that leave the run as it was."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import lamina
import lamina.nn as nn
from lamina import train
from lamina.utils import data

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "examples", "fashion_mnist.py")

WRITER = r"""
import sys
import lamina
import lamina.nn as nn
from lamina import train

directory = sys.argv[1]
lamina.manual_seed(0)
model = nn.Sequential(nn.Linear(512, 512), nn.Linear(512, 256))
ck = train.Checkpointer(directory, model=model, keep_last=3, config={"writer": True})
info = ck.load_latest()
step = info["step"] if info else 0
announced = False
while True:
    step += 1
    with lamina.no_grad():
        for p in model.parameters():
            p.fill_(float(step))
    ck.save(step)
    if not announced:
        print("ready", flush=True)
        announced = True
"""


def _check_all_checkpoints(directory):
    ck = train.Checkpointer(directory, keep_last=3, rng=False)
    files = ck.list()
    for path in files:
        d = train.read_checkpoint(path)
        assert d["config"] == {"writer": True}
        for name, t in d["model"].items():
            a = t.numpy()
            assert a.size > 0
            assert np.all(a == d["step"]), f"{path}: {name} holds {a.ravel()[:3]}, expected {d['step']}"
    return files


def test_sigkill_at_random_moments_leaves_loadable_checkpoints(tmp_path):
    directory = str(tmp_path / "ckpt")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rnd = random.Random(1234)
    env = dict(os.environ, LAMINA_FORCE_CPU="1")
    last_step = 0
    kills = 0
    for _ in range(55):
        proc = subprocess.Popen([sys.executable, str(script), directory], stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rnd.uniform(0.0, 0.08))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        kills += 1
        files = _check_all_checkpoints(directory)
        assert 1 <= len(files) <= 4  # a kill between the rename and the pruning leaves one more
        step = train.read_checkpoint(files[-1])["step"]
        assert step > last_step  # every restart resumed from the newest checkpoint and went on
        last_step = step
    assert kills >= 50


def _run_example(*args):
    env = dict(os.environ, LAMINA_FORCE_CPU="1")
    out = subprocess.run([sys.executable, EXAMPLE, "--skip-test", *args], capture_output=True, text=True, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _tensors(path):
    """Every tensor of a checkpoint file as raw bytes (model and optimizer)."""
    from safetensors.numpy import load_file
    return {k: v.tobytes() for k, v in load_file(path).items()}


@pytest.mark.skipif(not os.path.isdir(data.FASHION_MNIST_DIR), reason="dataset-fashion-mnist is not installed")
@pytest.mark.parametrize("model,extra", [("mlp", ["--cosine"]), ("cnn", ["--augment"])])
def test_example_resume_is_bit_exact(tmp_path, model, extra):
    common = ["--model", model, "--limit", "640", "--batch-size", "64", "--epochs", "3", "--seed", "5", *extra]
    straight, split = str(tmp_path / "straight"), str(tmp_path / "split")
    _run_example(*common, "--checkpoint-dir", straight, "--max-steps", "17")
    _run_example(*common, "--checkpoint-dir", split, "--max-steps", "7")  # stops mid-epoch 1
    out = _run_example(*common, "--checkpoint-dir", split, "--max-steps", "17", "--resume")
    assert "resumed from" in out and "checkpoint-0000000007" in out
    a = _tensors(os.path.join(straight, "checkpoint-0000000017.safetensors"))
    b = _tensors(os.path.join(split, "checkpoint-0000000017.safetensors"))
    assert sorted(a) == sorted(b)
    assert any(k.startswith("optimizer/") for k in a)
    for k in a:
        assert a[k] == b[k], f"{k} differs after resume"
    info = train.read_checkpoint(os.path.join(split, "checkpoint-0000000017.safetensors"))
    assert info["config"]["model"] == model and info["config"]["seed"] == 5
    assert info["run_info"]["seed"] == "5"
    assert info["loader"]["epoch"] == 1 and info["loader"]["batches_consumed"] == 7  # 10 batches per epoch


def _mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 3))


def _train_steps(model, opt, loader, steps):
    done = 0
    while done < steps:
        for x, y in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            done += 1
            if done == steps:
                return


def test_python_api_round_trip_and_generators(tmp_path):
    train.seed_everything(3)
    model = _mlp()
    opt = lamina.optim.AdamW(model.parameters(), lr=0.01)
    sched = lamina.optim.lr_scheduler.StepLR(opt, 2, 0.5)
    loader = data.DataLoader(data.TensorDataset(lamina.randn(40, 6), lamina.randint(0, 3, (40,))), batch_size=8,
                             shuffle=True)
    ck = train.Checkpointer(tmp_path, model=model, optimizer=opt, scheduler=sched, loader=loader,
                            config={"lr": 0.01, "name": "mlp"}, every_steps=2, keep_last=2)
    _train_steps(model, opt, loader, 3)
    sched.step()
    random.seed(77)
    np.random.seed(78)
    path = ck.save(3, 0)
    expected = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    py_next, np_next, lm_next = random.random(), np.random.rand(), lamina.rand(4).numpy()
    lr = sched.get_last_lr()

    # Change everything, then restore.
    _train_steps(model, opt, loader, 2)
    sched.step()
    random.random()
    np.random.rand(5)
    lamina.rand(9)
    info = ck.load(path)
    assert info["step"] == 3 and info["config"] == {"lr": 0.01, "name": "mlp"}
    assert info["run_info"]["seed"] == "3" and info["run_info"]["lamina_version"] == lamina.__version__
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), expected[k])
    assert sched.get_last_lr() == lr
    assert random.random() == py_next
    assert np.random.rand() == np_next
    np.testing.assert_array_equal(lamina.rand(4).numpy(), lm_next)
    assert loader.state_dict()["batches_consumed"] == 3

    # maybe_save follows every_steps; keep_last prunes.
    saved = [s for s in range(4, 11) if ck.maybe_save(s)]
    assert saved == [4, 6, 8, 10]
    assert [os.path.basename(p) for p in ck.list()] == ["checkpoint-0000000008.safetensors",
                                                        "checkpoint-0000000010.safetensors"]
    assert ck.load_latest()["step"] == 10


def test_failed_load_changes_nothing(tmp_path):
    train.seed_everything(4)
    small = _mlp()
    ck = train.Checkpointer(tmp_path, model=small, optimizer=lamina.optim.SGD(small.parameters(), lr=0.1))
    path = ck.save(1)

    other = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Dropout(0.25), nn.Linear(9, 3))
    opt = lamina.optim.SGD(other.parameters(), lr=0.5, momentum=0.9)
    before = {k: v.numpy().copy() for k, v in other.state_dict().items()}
    offset_probe = lamina.rand(1)  # noqa: F841 - moves the generator so a wrong restore would show
    state = random.getstate()
    ck2 = train.Checkpointer(tmp_path, model=other, optimizer=opt)
    with pytest.raises((lamina.ShapeError, lamina.ValueError)):
        ck2.load(path)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert opt.param_groups[0]["lr"] == 0.5
    assert random.getstate() == state

    with open(tmp_path / "broken.safetensors", "wb") as f:
        f.write(open(path, "rb").read()[:100])
    with pytest.raises(lamina.FormatError):
        train.read_checkpoint(tmp_path / "broken.safetensors")
    lamina.save_file({"w": lamina.randn(3)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(lamina.FormatError, match="not a lamina checkpoint"):
        train.read_checkpoint(tmp_path / "plain.safetensors")
    with pytest.raises(lamina.IOError):
        train.read_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(TypeError):
        train.Checkpointer(tmp_path, config={"bad": object()})
    with pytest.raises(lamina.ConfigError):
        train.Checkpointer(tmp_path, keep_last=-1)


def test_fit_resumes_and_stops_at_max_steps(tmp_path):
    def run(directory, max_steps, resume=False):
        train.seed_everything(9)
        model = _mlp()
        opt = lamina.optim.Adam(model.parameters(), lr=0.02)
        sched = lamina.optim.lr_scheduler.StepLR(opt, 1, 0.9)
        loader = data.DataLoader(data.TensorDataset(lamina.randn(50, 6), lamina.randint(0, 3, (50,))),
                                 batch_size=8, shuffle=True)
        ck = train.Checkpointer(directory, model=model, optimizer=opt, scheduler=sched, loader=loader,
                                every_steps=5)
        hist = train.fit(model, nn.CrossEntropyLoss(), opt, loader, 3, scheduler=sched, progress=False,
                         checkpointer=ck, resume=resume, max_steps=max_steps)
        return model, hist, ck

    straight, hist, _ = run(tmp_path / "a", None)
    assert hist.global_step == 21  # 7 batches x 3 epochs
    run(tmp_path / "b", 10)  # stops mid-epoch 2
    resumed, hist2, ck = run(tmp_path / "b", None, resume=True)
    assert hist2.resumed_from.endswith("checkpoint-0000000010.safetensors")
    assert hist2.global_step == 21 and [e["epoch"] for e in hist2] == [2, 3]
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert a.numpy().tobytes() == b.numpy().tobytes(), k
    assert os.path.basename(ck.latest()) == "checkpoint-0000000021.safetensors"
    with pytest.raises(ValueError):
        train.fit(straight, nn.CrossEntropyLoss(), None, [], 1, resume=True)
    meta = json.loads(json.dumps(train.read_checkpoint(ck.latest())["run_info"]))
    assert set(meta) >= {"seed", "lamina_version", "git_revision", "device", "created", "host"}


@pytest.mark.skipif(not os.path.isdir(data.FASHION_MNIST_DIR), reason="dataset-fashion-mnist is not installed")
def test_example_writes_tensorboard_csv_and_checkpoint(tmp_path):
    import csv
    from tensorboard.backend.event_processing import event_accumulator
    log_dir, ck_dir = str(tmp_path / "run"), str(tmp_path / "run" / "checkpoints")
    env = dict(os.environ, LAMINA_FORCE_CPU="1")
    out = subprocess.run([sys.executable, EXAMPLE, "--model", "mlp", "--epochs", "2", "--limit", "1000",
                          "--log-dir", log_dir, "--checkpoint-dir", ck_dir], capture_output=True, text=True, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"TensorBoard logs: {log_dir}" in out.stdout and "checkpoint: " in out.stdout
    assert "INFO [fashion_mnist] epoch done epoch=2" in out.stderr

    rows = list(csv.DictReader(open(os.path.join(log_dir, "metrics.csv"))))
    assert [r["epoch"] for r in rows[:2]] == ["1", "2"] and rows[2]["test_accuracy"]
    acc = event_accumulator.EventAccumulator(log_dir, size_guidance={event_accumulator.SCALARS: 0,
                                                                     event_accumulator.HISTOGRAMS: 0,
                                                                     event_accumulator.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    losses = acc.Scalars("train/loss")
    assert [e.step for e in losses] == [1, 2]
    for e, r in zip(losses, rows):
        assert e.value == np.float32(float(r["loss"]))
    assert acc.Scalars("test/accuracy")[0].value == np.float32(float(rows[2]["test_accuracy"]))
    assert "weights/1.weight" in tags["histograms"]
    assert acc.Histograms("weights/1.weight")[0].histogram_value.num == 784 * 256
    assert "config/text_summary" in tags["tensors"]
    ck = train.read_checkpoint(train.Checkpointer(ck_dir, rng=False).latest())
    assert ck["step"] == 16 and ck["epoch"] == 2 and ck["config"]["model"] == "mlp"


CPP_EXAMPLE = os.environ.get("LAMINA_CPP_EXAMPLE", os.path.join(REPO, "build", "cpp", "lamina_fashion_mnist"))


@pytest.mark.skipif(not os.path.isdir(data.FASHION_MNIST_DIR), reason="dataset-fashion-mnist is not installed")
@pytest.mark.skipif(not os.path.exists(CPP_EXAMPLE), reason="the C++ examples are not built (make build builds them)")
def test_python_resumes_a_cpp_checkpoint_bit_exactly(tmp_path):
    common = ["--model", "mlp", "--limit", "640", "--batch-size", "64", "--seed", "3"]
    straight, mixed = str(tmp_path / "straight"), str(tmp_path / "mixed")
    _run_example(*common, "--epochs", "2", "--checkpoint-dir", straight)
    env = dict(os.environ, LAMINA_FORCE_CPU="1")
    out = subprocess.run([CPP_EXAMPLE, *common, "--epochs", "1", "--checkpoint-dir", mixed], capture_output=True,
                         text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert train.read_checkpoint(os.path.join(mixed, "checkpoint-0000000010.safetensors"))["epoch"] == 1
    _run_example(*common, "--epochs", "2", "--checkpoint-dir", mixed, "--resume")
    a = _tensors(os.path.join(straight, "checkpoint-0000000020.safetensors"))
    b = _tensors(os.path.join(mixed, "checkpoint-0000000020.safetensors"))
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k] == b[k], f"{k} differs after a C++ -> Python resume"
