import os

import pytest
import torch

# Without a GPU (CI), the Triton kernels run on CPU tensors under Triton's interpreter.
# It must be switched on before tritaudio's kernels are imported, so it is set here.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import tritaudio

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture(params=["torch", "triton"])
def backend(request):
    """Runs a test once on the torch reference and once on the Triton kernels."""
    with tritaudio.use_backend(request.param):
        yield request.param


@pytest.fixture
def device():
    return DEVICE
