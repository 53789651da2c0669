"""lamina.utils.tensorboard.SummaryWriter read back by TensorBoard's own EventAccumulator; CSVLogger
and structured log lines (lamina.train.logging_utils)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import lamina
from lamina.train.logging_utils import CSVLogger, get_log_level, log, set_log_level
from lamina.utils.tensorboard import SummaryWriter

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _load(path):
    acc = event_accumulator.EventAccumulator(str(path), size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0, event_accumulator.TENSORS: 0,
        event_accumulator.COMPRESSED_HISTOGRAMS: 0})
    acc.Reload()
    return acc


def _np_histogram(values, bins):
    """torch.utils.tensorboard.summary.make_histogram's layout, from numpy."""
    counts, limits = np.histogram(values, bins=bins)
    cum = np.cumsum(np.greater(counts, 0))
    start, end = np.searchsorted(cum, [0, cum[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    return counts.astype(np.float64), limits


def _tf_bins():
    v, pos, neg = 1e-12, [], []
    while v < 1e20:
        pos.append(v)
        neg.append(-v)
        v *= 1.1
    return neg[::-1] + [0] + pos


def test_scalars_exact_float32(tmp_path):
    values = [0.1, 1 / 3, -2.5e-7, 1e10, 12345.678]
    with SummaryWriter(tmp_path) as w:
        for i, v in enumerate(values):
            w.add_scalar("loss/train", v, global_step=i * 10, walltime=1000.0 + i)
        w.add_scalar("acc", lamina.tensor(0.75), 3)
        w.add_scalar("np", np.float64(2.0))
    files = [f for f in os.listdir(tmp_path) if f.startswith("events.out.tfevents.")]
    assert len(files) == 1
    acc = _load(tmp_path)
    ev = acc.Scalars("loss/train")
    assert [e.step for e in ev] == [0, 10, 20, 30, 40]
    assert [e.value for e in ev] == [float(np.float32(v)) for v in values]
    assert [e.wall_time for e in ev] == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    assert acc.Scalars("acc")[0].value == 0.75 and acc.Scalars("acc")[0].step == 3
    assert acc.Scalars("np")[0].step == 0


@pytest.mark.parametrize("bins", ["tensorflow", 1, 7, 30, "auto"])
def test_histograms_match_numpy(tmp_path, rng, bins):
    values = rng.normal(size=1000) * 3 + 1
    values[:5] = 0.0
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", values, global_step=5, bins=bins)
        w.add_histogram("t", lamina.tensor(values.astype(np.float32)), global_step=6, bins=bins)
        # bfloat16 (NumPy has none) in a strided view goes through the same path.
        w.add_histogram("b", lamina.tensor(values).to(lamina.bfloat16)[::2], global_step=7, bins=bins)
    acc = _load(tmp_path)
    bf16 = lamina.tensor(values).to(lamina.bfloat16)[::2].double().numpy()
    for tag, vals in [("w", values), ("t", values.astype(np.float32).astype(np.float64)), ("b", bf16)]:
        (ev,) = acc.Histograms(tag)
        h = ev.histogram_value
        np_bins = _tf_bins() if bins == "tensorflow" else (np.histogram_bin_edges(vals, bins) if bins == "auto" else bins)
        counts, limits = _np_histogram(vals, np_bins)
        assert h.min == vals.min() and h.max == vals.max() and h.num == len(vals)
        assert h.sum == pytest.approx(vals.sum(), rel=1e-12, abs=1e-9)
        assert h.sum_squares == pytest.approx(vals.dot(vals), rel=1e-12)
        np.testing.assert_array_equal(np.array(h.bucket), counts)
        np.testing.assert_array_equal(np.array(h.bucket_limit), limits)
    assert acc.Histograms("w")[0].step == 5


def test_histogram_constant_and_list_and_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("c", [2.0, 2.0, 2.0], bins=4)
        with pytest.raises(ValueError):
            w.add_histogram("e", [], bins=4)
        with pytest.raises(ValueError):
            w.add_histogram("b", [1.0], bins=0)
    h = _load(tmp_path).Histograms("c")[0].histogram_value
    counts, limits = _np_histogram(np.array([2.0, 2.0, 2.0]), 4)
    assert list(h.bucket) == list(counts) and list(h.bucket_limit) == list(limits)


def test_text(tmp_path):
    text = "**bold** ünïcode\nline 2"
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", text, global_step=2)
    acc = _load(tmp_path)
    assert "notes/text_summary" in acc.Tags()["tensors"]
    (ev,) = acc.Tensors("notes/text_summary")
    assert ev.step == 2
    assert ev.tensor_proto.string_val[0].decode("utf-8") == text
    assert list(acc.PluginTagToContent("text")) == ["notes/text_summary"]
    from tensorboard.util import tensor_util
    assert tensor_util.make_ndarray(ev.tensor_proto)[0].decode() == text


def test_hparams(tmp_path):
    from tensorboard.plugins.hparams import api_pb2, metadata

    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.01, "batch": 32, "opt": "adam", "nesterov": True, "skip": None},
                      {"hparam/accuracy": 0.91, "hparam/loss": 0.25}, run_name="trial0")
    acc = _load(tmp_path / "trial0")
    content = acc.PluginTagToContent("hparams")
    assert set(content) == {"_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"}
    ssi = metadata.parse_session_start_info_plugin_data(content["_hparams_/session_start_info"])
    assert ssi.hparams["lr"].number_value == 0.01
    assert ssi.hparams["batch"].number_value == 32
    assert ssi.hparams["opt"].string_value == "adam"
    assert ssi.hparams["nesterov"].bool_value is True
    assert "skip" not in ssi.hparams
    exp = metadata.parse_experiment_plugin_data(content["_hparams_/experiment"])
    types = {h.name: h.type for h in exp.hparam_infos}
    assert types == {"lr": api_pb2.DATA_TYPE_FLOAT64, "batch": api_pb2.DATA_TYPE_FLOAT64,
                     "opt": api_pb2.DATA_TYPE_STRING, "nesterov": api_pb2.DATA_TYPE_BOOL}
    assert sorted(m.name.tag for m in exp.metric_infos) == ["hparam/accuracy", "hparam/loss"]
    sei = metadata.parse_session_end_info_plugin_data(content["_hparams_/session_end_info"])
    assert sei.status == api_pb2.STATUS_SUCCESS
    assert acc.Scalars("hparam/accuracy")[0].value == float(np.float32(0.91))
    with pytest.raises(TypeError):
        SummaryWriter(tmp_path / "x").add_hparams([1], {})


def test_add_scalars_default_logdir_and_close(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp", filename_suffix=".sfx", flush_secs=1, max_queue=2)
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_exp")
    w.add_scalars("run/loss", {"train": 1.5, "val": 2.5}, global_step=4)
    w.flush()
    for key, v in [("train", 1.5), ("val", 2.5)]:
        sub = os.path.join(w.get_logdir(), "run_loss_" + key)
        sc = _load(sub).Scalars("run/loss")
        assert sc[0].value == v and sc[0].step == 4
    assert any(f.endswith(".sfx") for f in os.listdir(w.get_logdir()))
    w.close()
    with pytest.raises(lamina.IOError):
        w.add_scalar("x", 1.0)


def test_purge_step(tmp_path):
    with SummaryWriter(tmp_path, purge_step=7) as w:
        w.add_scalar("a", 1.0, 7)
    assert [e.step for e in _load(tmp_path).Scalars("a")] == [7]


def test_csv_logger(tmp_path):
    p = tmp_path / "metrics.csv"
    with CSVLogger(p) as c:
        c.log(0, {"loss": 0.5, "acc": 0.25})
        c.log(1, loss=lamina.tensor(0.125))
        assert p.read_text() == "step,acc,loss\n0,0.25,0.5\n1,,0.125\n"
        with pytest.raises(ValueError, match="'lr'"):
            c.log(2, lr=0.1)
        assert c.fieldnames == ["acc", "loss"]
    with CSVLogger(p, append=True) as c:
        c.log(2, acc=1)
    assert p.read_text().splitlines()[-1] == "2,1,"
    with CSVLogger(tmp_path / "f.csv", fieldnames=["b", "a"]) as c:
        c.log(3, a=1.5)
    assert (tmp_path / "f.csv").read_text() == "step,b,a\n3,,1.5\n"
    with pytest.raises(lamina.IOError):
        CSVLogger(tmp_path / "missing" / "x.csv")


def test_log_format_and_levels():
    line = log.format_line("info", "trainer", "epoch done", 1796249400123, epoch=3, loss=0.25, name="a b", ok=True)
    assert line == '2026-12-02T22:10:00.123Z INFO [trainer] epoch done epoch=3 loss=0.25 name="a b" ok=true'
    old = get_log_level()
    try:
        set_log_level("error")
        assert get_log_level() == "error"
        assert not log.enabled("warning") and log.enabled("error")
        set_log_level(10)
        assert log.enabled("debug")
        with pytest.raises(lamina.ConfigError, match="debug\\|info\\|warning\\|error\\|off"):
            set_log_level("loud")
    finally:
        set_log_level(old)


_CHILD = """
import lamina
from lamina.train.logging_utils import log
log.debug("c", "dbg", k=1)
log.info("c", "inf", k=2)
log.warning("c", "wrn", path="a b")
log.error("c", "err")
"""


@pytest.mark.parametrize("level,expected", [
    (None, ["INFO", "WARNING", "ERROR"]), ("debug", ["DEBUG", "INFO", "WARNING", "ERROR"]),
    ("warning", ["WARNING", "ERROR"]), ("warn", ["WARNING", "ERROR"]), ("error", ["ERROR"]), ("off", [])])
def test_log_level_env(level, expected):
    env = dict(os.environ)
    env.pop("LAMINA_LOG_LEVEL", None)
    if level is not None:
        env["LAMINA_LOG_LEVEL"] = level
    r = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if " [c] " in ln]
    assert [ln.split()[1] for ln in lines] == expected
    if "WARNING" in expected:
        assert any(ln.endswith('[c] wrn path="a b"') for ln in lines)


def test_log_level_env_bad():
    env = dict(os.environ, LAMINA_LOG_LEVEL="loud")
    r = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "ConfigError" in r.stderr and "debug|info|warning|error|off" in r.stderr
