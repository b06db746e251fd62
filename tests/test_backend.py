"""The backend switch: TRITAUDIO_BACKEND, use_backend, and what auto picks."""

import os
import subprocess
import sys
import threading

import pytest
import torch

import tritaudio
import tritaudio.functional as F
from tritaudio import _reference


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("TRITAUDIO_BACKEND", raising=False)


def test_default_is_auto_and_picks_torch_for_cpu_tensors(no_env):
    assert tritaudio.get_backend() == "auto"
    assert tritaudio.backend_for(torch.zeros(3)) == "torch"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA tensor")
def test_auto_picks_triton_for_cuda_tensors(no_env):
    assert tritaudio.backend_for(torch.zeros(3, device="cuda")) == "triton"


def test_environment_variable_is_read_at_call_time(monkeypatch):
    x = torch.zeros(3)
    monkeypatch.setenv("TRITAUDIO_BACKEND", "triton")
    assert tritaudio.backend_for(x) == "triton"
    monkeypatch.setenv("TRITAUDIO_BACKEND", "torch")
    assert tritaudio.backend_for(x) == "torch"
    monkeypatch.setenv("TRITAUDIO_BACKEND", " Auto ")
    assert tritaudio.get_backend() == "auto"


def test_bad_environment_variable(monkeypatch):
    monkeypatch.setenv("TRITAUDIO_BACKEND", "cuda")
    with pytest.raises(ValueError, match="TRITAUDIO_BACKEND"):
        tritaudio.backend_for(torch.zeros(1))


def test_use_backend_wins_over_the_environment_nests_and_restores(monkeypatch):
    monkeypatch.setenv("TRITAUDIO_BACKEND", "torch")
    with tritaudio.use_backend("triton"):
        assert tritaudio.get_backend() == "triton"
        with tritaudio.use_backend("auto"):
            assert tritaudio.get_backend() == "auto"
        assert tritaudio.get_backend() == "triton"
    assert tritaudio.get_backend() == "torch"
    with pytest.raises(KeyError), tritaudio.use_backend("triton"):
        raise KeyError
    assert tritaudio.get_backend() == "torch"


def test_use_backend_rejects_unknown_names():
    with pytest.raises(ValueError, match="'auto', 'triton', 'torch'"):
        tritaudio.use_backend("cuda").__enter__()


def test_use_backend_is_local_to_its_thread(no_env):
    seen = []
    with tritaudio.use_backend("triton"):
        thread = threading.Thread(target=lambda: seen.append(tritaudio.get_backend()))
        thread.start()
        thread.join()
    assert seen == ["auto"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="the interpreter is for CPU-only runs")
def test_tests_run_the_kernels_under_the_interpreter():
    from tritaudio import _ops

    assert _ops.INTERPRETED


def test_forced_triton_runs_the_kernel_not_the_reference(monkeypatch, device):
    def fail(*args):
        raise AssertionError("the torch reference ran")

    monkeypatch.setattr(_reference, "gain", fail)
    x = torch.tensor([0.25, -0.5], device=device)
    with tritaudio.use_backend("triton"):
        assert torch.allclose(F.gain(x, 20 * torch.log10(torch.tensor(2.0)).item()), 2 * x)
    with tritaudio.use_backend("torch"), pytest.raises(AssertionError, match="reference ran"):
        F.gain(x, 6.0)


def _run(code, **env):
    environ = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=300
    )


def test_forced_triton_on_cpu_without_the_interpreter_is_a_clear_error():
    code = "import torch, tritaudio.functional as F; F.gain(torch.ones(4), 6.0)"
    result = _run(code, TRITAUDIO_BACKEND="triton", CUDA_VISIBLE_DEVICES="")
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr
    assert "TRITON_INTERPRET=1" in result.stderr, result.stderr


def test_forced_triton_on_cpu_with_the_interpreter_set_before_import_works():
    code = (
        "import torch, tritaudio.functional as F\n"
        "print(F.gain(torch.full((3,), 0.5), 20 * torch.log10(torch.tensor(2.0)).item()))"
    )
    result = _run(code, TRITAUDIO_BACKEND="triton", TRITON_INTERPRET="1")
    assert result.returncode == 0, result.stderr
    assert "tensor([1., 1., 1.])" in result.stdout


def test_import_pulls_in_no_optional_package_nor_triton():
    # matplotlib (a dependency of the command's demo) is imported only by the demo. tqdm is
    # not checked: torch.hub imports it whenever it is installed (torch 2.13).
    code = (
        "import sys, tritaudio\n"
        "print(sorted(m for m in ('triton', 'scipy', 'librosa', 'soxr', 'hypothesis', "
        "'matplotlib', 'torchaudio') if m in sys.modules))"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_dispatch_traces_under_torch_compile_fullgraph(no_env):
    # The backend switch must not break the graph: torch.compile takes its value as a
    # constant at trace time. (Compiling the Triton path itself needs a GPU.)
    import tritaudio.transforms as T

    x = torch.randn(2, 441)
    resample = T.Resample(441, 160)

    def front_end(x):
        return F.gain(resample(x), -3.0)

    with tritaudio.use_backend("torch"):
        compiled = torch.compile(front_end, fullgraph=True, backend="eager")
        torch.testing.assert_close(compiled(x), front_end(x))


def _steps_under(name, log):
    with tritaudio.use_backend(name):
        log.append(tritaudio.get_backend())
        yield
        log.append(tritaudio.get_backend())
        yield


def test_a_generator_yielding_inside_use_backend_holds_it_until_it_ends(no_env):
    # Documented: the generator's block is in force for its caller between the yields
    # (a pytest fixture relies on it), and no longer once the generator is done.
    log = []
    steps = _steps_under("torch", log)
    next(steps)
    assert tritaudio.get_backend() == "torch"
    next(steps)
    assert log == ["torch", "torch"]
    steps.close()
    assert tritaudio.get_backend() == "auto"


def test_blocks_ending_out_of_order_leave_the_others_in_force(no_env):
    # A generator's block ends inside a later block of its caller: the caller's block must
    # stay in force, and nothing may be left over once both have ended.
    steps = _steps_under("torch", [])
    next(steps)
    with tritaudio.use_backend("triton"):
        assert tritaudio.get_backend() == "triton"
        steps.close()
        assert tritaudio.get_backend() == "triton"
    assert tritaudio.get_backend() == "auto"


def test_a_generator_closed_in_another_context_does_not_raise(no_env):
    import contextvars

    steps = _steps_under("torch", [])
    contextvars.copy_context().run(next, steps)
    assert tritaudio.get_backend() == "auto"
    steps.close()  # its block ends in a context where it never began
    assert tritaudio.get_backend() == "auto"


def test_use_backend_as_a_decorator(no_env):
    @tritaudio.use_backend("torch")
    def inner():
        return tritaudio.get_backend()

    assert inner() == "torch"
    assert tritaudio.get_backend() == "auto"
