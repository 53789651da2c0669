"""The layer order of docs/ARCHITECTURE.md, read from the code's own #include lines."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tools" / "check_layers.py"


def run(root):
    return subprocess.run([sys.executable, str(CHECKER), str(root)], capture_output=True, text=True)


def test_every_include_points_down():
    result = run(ROOT)
    assert result.returncode == 0, result.stdout
    assert "0 include(s) or launch(es)" in result.stdout


def write(root, path, text):
    p = root / path
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_the_checker_flags_each_kind_of_bad_include(tmp_path):
    write(tmp_path, "lamina/core/tensor.h", '#include "lamina/runtime/dispatch.h"\n')
    write(tmp_path, "lamina/runtime/dispatch.h", '#include "lamina/core/tensor.h"\n')
    write(tmp_path, "lamina/kernels/cpu/add.cpp", '#include "lamina/kernels/cuda/common.cuh"\n')
    write(tmp_path, "lamina/kernels/cuda/common.cuh", '#include "lamina/kernels/loops.h"\n')
    write(tmp_path, "lamina/kernels/loops.h", '#include "lamina/core/tensor.h"\n')
    write(tmp_path, "lamina/io/file.cpp", '#include "lamina/data/loader.h"\n')
    write(tmp_path, "lamina/data/loader.h", "\n")
    write(tmp_path, "lamina/ops/add.cpp", '#include "lamina/kernels/cpu/add.h"\n')
    write(tmp_path, "lamina/kernels/cpu/add.h", "\n")
    write(tmp_path, "lamina/newfolder/x.cpp", "\n")
    write(tmp_path, "python/src/init_cuda.cpp", '#include "lamina/kernels/cuda/common.cuh"\n')
    write(tmp_path, "include/lamina/ops/add.h", '#include "lamina/kernels/loops.h"\n')
    result = run(tmp_path)
    assert result.returncode == 1
    out = result.stdout
    assert "lamina/core/tensor.h:1: includes lamina/runtime/dispatch.h: points up (core -> runtime)" in out
    assert "lamina/kernels/cpu/add.cpp:1: includes lamina/kernels/cuda/common.cuh: crosses backends (cpu -> cuda)" in out
    assert "lamina/io/file.cpp:1: includes lamina/data/loader.h: sideways between siblings (io -> data)" in out
    assert "lamina/ops/add.cpp:1: includes lamina/kernels/cpu/add.h: reaches into a backend from ops" in out
    assert "lamina/newfolder/x.cpp: folder has no floor" in out
    assert "python/src/init_cuda.cpp" not in out  # the bindings may expose a backend (lamina.cuda)
    assert "lamina/runtime/dispatch.h" not in out.split("check_layers")[0].replace(
        "includes lamina/runtime/dispatch.h", "")  # runtime -> core points down
    assert "include/lamina/ops/add.h:1: includes lamina/kernels/loops.h: a public header includes an internal one" in out
    assert "6 include(s)" in out


def test_the_checker_keeps_kernels_below_the_ops(tmp_path):
    write(tmp_path, "lamina/nn/loss.cpp", '#include "lamina/runtime/dispatch.h"\n#include "lamina/kernels/optim.h"\n')
    write(tmp_path, "lamina/runtime/dispatch.h", "\n")
    write(tmp_path, "lamina/kernels/optim.h", "\n")
    write(tmp_path, "lamina/ops/step.cpp", '#include "lamina/runtime/dispatch.h"\n#include "lamina/kernels/optim.h"\n')
    result = run(tmp_path)
    assert "lamina/nn/loss.cpp:1: includes lamina/runtime/dispatch.h: calls kernels from libraries" in result.stdout
    assert "lamina/nn/loss.cpp:2: includes lamina/kernels/optim.h: reaches the kernel interface from libraries" in result.stdout
    assert "lamina/ops/step.cpp" not in result.stdout  # the ops launch kernels
    assert "2 include(s)" in result.stdout


def test_the_checker_keeps_launches_in_the_runtime(tmp_path):
    write(tmp_path, "lamina/runtime/launch.h", "\n")
    write(tmp_path, "lamina/runtime/launch.cpp", "void f() { DeviceGuard g(d); parallel_for(n, c, fn); }\n")
    write(tmp_path, "lamina/ops/norm.cpp",
          '#include "lamina/runtime/launch.h"\n// find_kernel in a comment is fine\n'
          "auto k = runtime::find_kernel<K>(id, d, dt);\nruntime::DeviceGuard guard(d);\n")
    write(tmp_path, "lamina/nn/module.cpp", "/* parallel_for\n */ void g() { runtime::parallel_for(1, 1, f); }\n"
          'const char* glob = "lamina/*";\nauto k = find_kernel<K>(id, d, dt);  // */\n')
    result = run(tmp_path)
    out = result.stdout
    assert result.returncode == 1
    assert "lamina/ops/norm.cpp:3: calls find_kernel from ops (launch through runtime/launch.h)" in out
    assert "lamina/ops/norm.cpp:4: calls DeviceGuard from ops" in out
    assert "lamina/nn/module.cpp:2: calls parallel_for from libraries" in out
    assert "lamina/nn/module.cpp:4: calls find_kernel from libraries" in out  # a "/*" in a string hides nothing
    assert "lamina/runtime/launch.cpp" not in out  # the runtime owns launches
    assert "4 include(s) or launch(es)" in out
