"""The README's examples run as written."""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def blocks(lang):
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```" + lang + r"\n(.*?)```", text, re.S)


def test_python_example_runs():
    (code,) = blocks("python")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "[add]" in out.stdout


def test_cpp_example_is_the_built_one():
    (code,) = blocks("cpp")
    assert code == (ROOT / "examples" / "hello.cpp").read_text()


def test_readme_has_exactly_the_two_commands():
    (sh,) = blocks("sh")
    cmds = [line.split("#")[0].strip() for line in sh.splitlines() if line.strip()]
    assert cmds == ["make demo", "make test"]
