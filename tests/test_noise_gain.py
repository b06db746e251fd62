"""functional.gain: the first op on the Triton path (kernels/noise.py scale_rows_kernel)."""

import math

import pytest
import torch
from helpers import assert_close_to_reference, parity, parity_cases

import tritaudio.functional as F


def reference64(waveform, gain_db):
    """The same math in float64, outside the package."""
    return waveform.double() * 10 ** (gain_db / 20)


@pytest.mark.parametrize("shape", [(1,), (17,), (3, 1001), (2, 3, 257), (2, 1, 1, 4097)])
@pytest.mark.parametrize("gain_db", [6.0, -13.5])
def test_matches_float64_reference(backend, device, shape, gain_db):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(device)
    out = F.gain(x, gain_db)
    assert out.dtype == x.dtype and out.device == x.device
    assert_close_to_reference(out, reference64(x, gain_db), what=f"{backend} {shape}")


def test_torchaudio_vol_fixtures(backend, device):
    # Vol(gain, "db") is clamp(gain(x, gain), -1, 1); Vol(gain, "power") uses 10 * log10(gain).
    for case in parity_cases("transforms.Vol"):
        gain_type = case["kwargs"].get("gain_type", "amplitude")
        if gain_type == "amplitude":
            continue
        gain = case["kwargs"]["gain"]
        gain_db = gain if gain_type == "db" else 10 * math.log10(gain)
        x = parity()["inputs"][case["input"]].to(device)
        out = F.gain(x, gain_db).clamp(-1, 1)
        assert_close_to_reference(out, case["output"], rel=1e-4, what=str(case["kwargs"]))


def test_zero_gain_returns_the_input(backend):
    x = torch.randn(5)
    assert F.gain(x, 0.0) is x


def test_batch_equals_stacked_singles(backend, device):
    x = torch.randn(4, 2, 333, device=device)
    stacked = torch.stack([F.gain(item, 3.0) for item in x])
    torch.testing.assert_close(F.gain(x, 3.0), stacked, rtol=0, atol=0)


def test_non_contiguous_input(backend, device):
    base = torch.randn(3, 8, 202, device=device)
    for x in (base[..., ::2], base.transpose(0, 1), base[:, 1:5, 3:150]):
        assert not x.is_contiguous()
        assert_close_to_reference(F.gain(x, -4.0), reference64(x, -4.0), what="non-contiguous")


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 5), (2, 0, 7)])
def test_empty_input(backend, device, shape):
    out = F.gain(torch.empty(shape, device=device), 5.0)
    assert out.shape == shape


@pytest.mark.parametrize(
    ("dtype", "rel"), [(torch.float16, 1e-3), (torch.bfloat16, 8e-3), (torch.float64, 1e-12)]
)
def test_other_float_dtypes(backend, device, dtype, rel):
    x = torch.randn(2, 513, device=device).to(dtype)
    out = F.gain(x, 2.5)
    assert out.dtype == dtype
    assert_close_to_reference(out, reference64(x, 2.5), rel=rel, what=str(dtype))


def test_gradcheck_through_triton(device):
    import tritaudio

    x = torch.randn(2, 37, dtype=torch.float64, device=device, requires_grad=True)
    with tritaudio.use_backend("triton"):
        assert torch.autograd.gradcheck(lambda x: F.gain(x, -7.0), (x,))
        assert torch.autograd.gradgradcheck(lambda x: F.gain(x, 4.0), (x,))


def test_gradient_of_non_contiguous_output_grad(backend, device):
    x = torch.randn(4, 64, device=device, requires_grad=True)
    grad_out = torch.randn(64, 4, device=device).t()  # last dim not contiguous
    F.gain(x, 6.0).backward(grad_out)
    assert_close_to_reference(x.grad, reference64(grad_out, 6.0), what="grad")


def test_bad_input(backend):
    with pytest.raises(TypeError, match="floating-point"):
        F.gain(torch.ones(4, dtype=torch.int16), 1.0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        F.gain([0.1, 0.2], 1.0)
    with pytest.raises(ValueError, match="finite"):
        F.gain(torch.ones(4), float("inf"))
    with pytest.raises(ValueError, match="0-d"):
        F.gain(torch.tensor(1.0), 1.0)


def test_op_registration(device):
    from tritaudio import _ops

    # Fake-tensor and AOT checks trace the kernel launch, which only a compiled (GPU)
    # kernel supports: the interpreter runs its kernels eagerly.
    checks = ("test_schema", "test_autograd_registration")
    if device == "cuda":
        checks += ("test_faketensor", "test_aot_dispatch_dynamic")
    x = torch.randn(3, 100, device=device, requires_grad=True)
    result = torch.library.opcheck(_ops.scale_rows, (x, 2.0), test_utils=checks)
    assert set(result.values()) == {"SUCCESS"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="inductor compiles Triton ops on CUDA")
def test_torch_compile_fullgraph():
    x = torch.randn(2, 3, 1000, device="cuda")
    compiled = torch.compile(lambda x: F.gain(x, -3.0), fullgraph=True)
    assert_close_to_reference(compiled(x), reference64(x, -3.0), what="compiled")
