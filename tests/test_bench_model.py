"""The performance model (benchmarks/model) on kernels whose bytes and instructions are
known by construction, its counting of syncs, host-to-device copies and memory, the
kernels' declared writes, and the targets' definitions. No timings: counts only."""

import math

import pytest
import torch
import triton
import triton.language as tl

from benchmarks.cases import FORWARD, TRITON
from benchmarks.families import FAMILIES, all_cases
from benchmarks.model.constants import DEVICES
from benchmarks.model.counter import Recorder
from benchmarks.model.estimate import event_time
from benchmarks.targets import (
    LAUNCHES,
    MEMORY_FRACTION,
    PITCH_CASES,
    SPEEDUP,
    TARGETS,
    TRAFFIC_FLOOR,
    evaluate_model,
)
from tritaudio import _ops

pytestmark = pytest.mark.skipif(not _ops.INTERPRETED, reason="the model runs the interpreter")

H200 = DEVICES["H200"]


@triton.jit
def copy_kernel(X, Y, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    tl.store(Y + offsets, tl.load(X + offsets, mask=mask), mask=mask)


@triton.jit
def fma_loop_kernel(X, Y, n_iter, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    acc = tl.load(X + offsets)
    for _ in range(n_iter):
        acc = tl.fma(acc, 0.999, 0.001)
    tl.store(Y + offsets, acc)


@triton.jit
def mul_add_loop_kernel(X, Y, n_iter, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    acc = tl.load(X + offsets)
    unused = acc
    for _ in range(n_iter):
        acc = acc * 0.999 + 0.001  # one FFMA once fused
        unused = tl.sin(unused)  # never stored: removed by the compiler
    tl.store(Y + offsets, acc)


@triton.jit
def sneaky_kernel(X, Y, BLOCK: tl.constexpr):
    offsets = tl.arange(0, BLOCK)
    tl.store(Y + offsets, tl.load(X + offsets))
    tl.store(X + offsets, tl.zeros([BLOCK], dtype=tl.float32))  # writes its input


WRITES = {"copy_kernel": ("Y",), "fma_loop_kernel": ("Y",), "mul_add_loop_kernel": ("Y",),
          "sneaky_kernel": ("Y",)}  # fmt: skip


def _launch(kernel, grid, *args, num_warps=4, **constexprs):
    recorder = Recorder()
    with recorder:
        kernel[grid](*args, num_warps=num_warps, **constexprs)
    (event,) = [e for e in recorder.events if e.kind == "triton"]
    return event


def test_copy_kernel_moves_twice_its_size_and_is_memory_bound():
    n = 10_000
    x, y = torch.randn(n), torch.empty(n)
    event = _launch(copy_kernel, (triton.cdiv(n, 1024),), x, y, n, BLOCK=1024)
    assert event.read == 4 * n and event.write == 4 * n
    assert event.arg_read == {0: 4 * n} and event.arg_write == {1: 4 * n}
    assert not event.undeclared_writes
    assert torch.equal(x, y)  # it ran
    # at a size that fills the GPU: the grid and the bytes scaled together
    scale = 4096
    event.programs *= scale
    event.read *= scale
    event.write *= scale
    times = event_time(event, H200)
    assert times["bound"] == "memory"
    expected = 2 * 4 * n * scale / H200.bandwidth
    assert times["memory"] == pytest.approx(expected, rel=0.1)
    assert times["total"] == pytest.approx(expected + H200.launch, rel=0.1)


def test_each_load_and_store_is_counted_once():
    # the interpreter's create_load / create_store call create_masked_load / _store:
    # one unmasked load and one unmasked store are one vector instruction each per thread
    block, warps = 1024, 4
    x, y = torch.randn(block), torch.empty(block)
    event = _launch(sneaky_kernel, (1,), x, y, BLOCK=block, num_warps=warps)
    per_thread = block // (32 * warps) // 4  # float32 in 16-byte vectors
    assert event.census["load"] == per_thread * warps
    assert event.census["store"] == 2 * per_thread * warps


@pytest.mark.parametrize("kernel", [fma_loop_kernel, mul_add_loop_kernel])
def test_fma_loop_is_issue_bound_with_its_instruction_count(kernel):
    block, n_iter, warps = 1024, 200, 4
    x, y = torch.rand(4 * block), torch.empty(4 * block)
    event = _launch(kernel, (4,), x, y, n_iter, BLOCK=block, num_warps=warps)
    threads = 32 * warps
    # one FFMA per element per iteration: n_iter * block / 32 warp-instructions per program
    expected = n_iter * block / 32
    assert sum(event.census.values()) == pytest.approx(expected, rel=0.1)
    assert event.census.get("special", 0) == 0  # the unused sin chain is dead code
    event.programs = 132 * 64
    times = event_time(event, H200)
    assert times["bound"] == "issue"
    rate = H200.sms * 4 * H200.clock
    assert times["issue"] == pytest.approx(expected * event.programs / rate, rel=0.1)
    assert block // threads == 8  # (the census's per-thread elements)


def test_undeclared_write_is_reported():
    x, y = torch.randn(64), torch.empty(64)
    event = _launch(sneaky_kernel, (1,), x, y, BLOCK=64)
    assert event.undeclared_writes == ["X"]


def _first_launch_per_kernel():
    """tests/compile_kernels.py's launches, float32, one per kernel and feature flags."""
    import compile_kernels

    seen = set()
    for launcher, args in compile_kernels.launches():
        floats = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()]
        if any(a.dtype != torch.float32 for a in floats):
            continue
        key = (launcher.__name__, tuple(a is None for a in args))
        if key in seen or "log_mel" in launcher.__name__:
            continue
        seen.add(key)
        args = tuple(a[:, :700] if isinstance(a, torch.Tensor) and a.dim() == 2
                     and a.shape == (3, 5000) else a for a in args)  # fmt: skip
        if launcher.__name__ == "add_noise_backward":  # its partials follow the row's blocks
            from tritaudio.kernels.noise import _layout

            blocks = _layout(3, 700, "cpu", args[2] is None)[1]  # white noise: args[2] None
            args = (*args[:5], args[5].new_zeros(2, 3, blocks), *args[6:])
        yield launcher, args


def test_every_kernel_declares_what_it_writes():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    try:
        launched = set()
        for launcher, args in _first_launch_per_kernel():
            recorder = Recorder()
            with recorder:
                launcher(*args)
            for event in recorder.events:
                if event.kind == "triton":
                    launched.add(event.name)
                    assert not event.undeclared_writes, (event.name, event.undeclared_writes)
                    assert event.write > 0, event.name
    finally:
        sys.path.pop(0)
    assert {"frame_kernel", "polyphase_kernel", "add_noise_kernel"} <= launched
    from tritaudio.kernels import (
        alignment,
        filtering,
        filtering_scan,
        framing,
        kaldi,
        logmel,
        noise,
        resample,
        spectral,
    )

    modules = (alignment, filtering, filtering_scan, framing, kaldi, logmel, noise, resample)
    for module in (*modules, spectral):
        kernels = [n for n, v in vars(module).items() if n.endswith("_kernel") and hasattr(v, "fn")
                   and v.fn.__module__ == module.__name__]  # not those it imports  # fmt: skip
        for name in kernels:
            assert name in module.WRITES, f"{module.__name__}.WRITES has no {name}"


def test_syncs_and_host_built_tensors_are_counted():
    x = torch.randn(8)
    recorder = Recorder()
    with recorder:
        value = (x > 0).any().item()
        if torch.isfinite(x).all():
            pass
    assert [name for name, _ in recorder.syncs] == ["aten::_local_scalar_dense"] * 2
    assert recorder.syncs[0][1] == value
    # on the meta device: the values replayed, torch.tensor(..., device) seen as a copy
    meta = torch.empty(8, device="meta")
    replay = Recorder(execute=False, sync_values=[True, False, False])
    replay.watch(meta)
    with replay:
        assert (meta > 0).any().item() is True
        assert not bool(torch.isfinite(meta).all())
        meta[:2] * torch.tensor([1.0, 2.0], device="meta")  # used: copied to the device
        torch.tensor([3.0]).to("meta")
        meta * 2  # inputs (watched) and the call's own tensors are not copies
        with torch._C._AutoDispatchBelowAutograd():  # as in a custom op's body
            meta.to(torch.float64) * 2  # a conversion (aten::to, an aliasing schema) neither
        host = torch.tensor(2.0) * 3  # host math on the meta run: no launch, its read no sync
        assert float(host) == 6.0
        assert (meta > 0).any().item() is False  # the second replayed value, still aligned
    assert len(replay.syncs) == 3
    assert len(replay.h2d) == 2
    host_mul = [e for e in replay.events if e.name == "aten::mul"][-1]
    assert (host_mul.launch, host_mul.read, host_mul.write) == (False, 0, 0)


def test_peak_of_live_storage():
    recorder = Recorder()
    with recorder:
        a = torch.ones(1000)  # 4 kB
        b = torch.ones(2000)  # 8 kB, 12 kB live
        del a
        c = b * 2  # 8 kB more: 16 kB live
        del b, c
        torch.ones(100)
    assert recorder.peak == 16000
    assert recorder.live == 0


def test_views_move_nothing_and_in_place_ops_write_their_argument():
    x = torch.randn(4, 100)
    recorder = Recorder()
    with recorder:
        x.t().reshape(-1)[:10]  # a copy of 400 elements, the rest views
        x.add_(1.0)
        torch.zeros(10)
    moved = [(e.name, e.read, e.write) for e in recorder.events if e.launch]
    assert moved == [("aten::clone", 1600, 1600), ("aten::add_", 1600, 1600),
                     ("aten::zeros", 0, 40)] or moved[1:] == [("aten::add_", 1600, 1600),
                                                             ("aten::zeros", 0, 40)]  # fmt: skip


def test_resample_case_fit_matches_the_full_size_count():
    from benchmarks.model.measure import count_case

    case = next(c for c in FAMILIES["resample"] if c.name == "Resample 48 -> 44.1 kHz")
    result = count_case(case, TRITON, FORWARD)
    totals = result["warm"].recorder.totals()
    for field, ratio in result["fit_ratio"].items():
        if field != "launches":
            assert ratio == pytest.approx(1.0, abs=0.02), field
    # the resampler reads its input once and writes its output once: the floor
    assert totals["read"] + totals["write"] == pytest.approx(result["warm"].floor, rel=0.01)
    kernels = [e for e in result["warm"].recorder.events if e.kind == "triton"]
    assert [e.name for e in kernels] == ["polyphase_dot_kernel"]  # (float32 tables)
    assert kernels[0].census and kernels[0].programs > 132


def test_targets_can_be_met_and_name_real_cases():
    cases = {(c.family, c.name): c for c in all_cases()}
    for target in TARGETS:
        if target.family == "cli":
            continue
        for name in target.cases:
            case = cases[target.family, name]
            assert target.mode in case.modes, (target.goal, name)
            assert case.sized(case.headline) == target.size, (target.goal, name)
    # n_steps = 0 resamples on neither side: no speed-up or memory target names it
    assert "PitchShift n_steps=+0" not in PITCH_CASES
    for target in TARGETS:
        if target.kind in (SPEEDUP, MEMORY_FRACTION) and target.family == "stretch":
            assert "PitchShift n_steps=+0" not in target.cases


def test_evaluate_model_reads_the_rows():
    target = next(t for t in TARGETS if t.kind == TRAFFIC_FLOOR and t.family == "noise")
    launches = next(t for t in TARGETS if t.kind == LAUNCHES and t.family == "noise")
    row = dict(family="noise", case="add_noise", mode=FORWARD, size=target.size.as_dict(),
               floor=100, bandwidth={"H200": 1e12},
               ours=dict(bytes=105, launches=3, peak=1, time={"H200": {"total": 1e-6}}),
               baseline=dict(bytes=233, launches=13, peak=2,
                             time={"H200": {"total": 3e-6}}))  # fmt: skip
    model = dict(reference_device="H200", rows=[row])
    assert evaluate_model(target, model) == dict(status="met", value="1.05x the floor's bytes")
    assert evaluate_model(launches, model)["status"] == "not met"
    assert math.isclose(1 / 3, 1 / 3)
