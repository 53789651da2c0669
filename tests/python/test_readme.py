"""The README's examples run as written."""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def blocks(lang):
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```" + lang + r"\n(.*?)```", text, re.S)


def test_python_examples_run():
    tour, training, tools = blocks("python")
    out = subprocess.run([sys.executable, "-c", tour], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "[add]" in out.stdout
    out = subprocess.run([sys.executable, "-c", training], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.split()[-1]) > 0.6  # training accuracy after 2 epochs on 2000 images
    out = subprocess.run([sys.executable, "-c", tools], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "addmm" in out.stdout or "linear" in out.stdout  # the profiler table lists the layers' ops
    assert lines[-2].strip() == "30"
    assert lines[-1] == "['0.bias', '0.weight', '2.bias', '2.weight']"


def test_cpp_example_is_the_built_one():
    (code,) = blocks("cpp")
    assert code == (ROOT / "examples" / "hello.cpp").read_text()


def test_readme_has_exactly_the_two_commands():
    (sh,) = blocks("sh")
    cmds = [line.split("#")[0].strip() for line in sh.splitlines() if line.strip()]
    assert cmds == ["make demo", "make test"]
