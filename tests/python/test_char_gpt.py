"""Smoke test of examples/char_gpt.py: a small model trains on a tiny text (the loss falls) and
then samples text, with both attention implementations."""
import importlib.util
import os

import pytest

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "char_gpt.py")


@pytest.fixture(scope="module")
def char_gpt():
    spec = importlib.util.spec_from_file_location("char_gpt", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("attention", ["manual", "mha"])
def test_trains_and_samples(tmp_path, capsys, char_gpt, attention):
    text = tmp_path / "tiny.txt"
    text.write_text("abcabd abcabd the cat sat on the mat. " * 40)
    steps = 40 if attention == "manual" else 8
    losses = char_gpt.main(["--text", str(text), "--steps", str(steps), "--batch-size", "8", "--context", "32",
                            "--width", "32", "--layers", "2", "--heads", "2", "--lr", "1e-2", "--log-every", "5",
                            "--attention", attention, "--prompt", "the ", "--sample-len", "30"])
    out = capsys.readouterr().out
    assert len(losses) == steps
    assert "ms/step" in out and "median step time" in out
    sample = out.split("--- sample ---\n", 1)[1]
    assert sample.startswith("the ") and len(sample.rstrip("\n")) == 34
    assert set(sample.rstrip("\n")) <= set("abcdehmnost. ")
    first, last = losses[0], sum(losses[-3:]) / 3
    assert first > 2.0  # about ln(12): untrained
    assert last < first - (1.0 if attention == "manual" else 0.5)


def test_default_text_exists(char_gpt):
    assert os.path.isfile(char_gpt.DEFAULT_TEXT)


def test_logs_to_tensorboard_and_csv(tmp_path, capsys, char_gpt):
    import csv

    import numpy as np
    from tensorboard.backend.event_processing import event_accumulator
    text = tmp_path / "tiny.txt"
    text.write_text("the cat sat on the mat. " * 30)
    log_dir = tmp_path / "logs"
    losses = char_gpt.main(["--text", str(text), "--steps", "6", "--batch-size", "4", "--context", "16", "--width",
                            "16", "--layers", "1", "--heads", "2", "--log-every", "2", "--sample-len", "5",
                            "--log-dir", str(log_dir)])
    rows = list(csv.DictReader(open(log_dir / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 4, 6]
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    scalars = acc.Scalars("train/loss")
    assert [e.step for e in scalars] == [1, 2, 4, 6]
    for e, step in zip(scalars, [1, 2, 4, 6]):
        assert e.value == np.float32(losses[step - 1])
    assert "sample/text_summary" in acc.Tags()["tensors"]
