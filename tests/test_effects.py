"""The SoX-like effects (contrast, dcshift, dither, flanger, overdrive, phaser) on both
paths against torchaudio 2.11's outputs, their seedable draws and their errors."""

import pytest
import torch
from test_filtering import check_fixture, fixture_cases

import tritaudio.functional as F


@pytest.mark.parametrize("case", fixture_cases(True), ids=lambda c: c["api"].split(".")[1])
def test_torchaudio_fixtures(backend, case):
    check_fixture(case)


def test_dither_generator_is_seedable():
    x = 0.5 * torch.randn(2, 100)
    first = F.dither(x, "GPDF", generator=torch.Generator().manual_seed(3))
    second = F.dither(x, "GPDF", generator=torch.Generator().manual_seed(3))
    assert torch.equal(first, second)
    copy = x.clone()
    F.dither(x, "GPDF")
    assert torch.equal(x, copy)  # torchaudio writes into its input here; tritaudio does not


def test_dcshift_leaves_its_input_alone():
    x = torch.full((1, 10), 0.99)
    out = F.dcshift(x, 0.5, 0.05)
    assert torch.equal(x, torch.full((1, 10), 0.99)) and out.max() <= 1


def test_bad_arguments():
    x = torch.zeros(2, 3, 10)
    with pytest.raises(ValueError, match="enhancement_amount"):
        F.contrast(x, 120.0)
    with pytest.raises(ValueError, match="density_function"):
        F.dither(x, "white")
    with pytest.raises(ValueError, match="4 channels"):
        F.flanger(torch.zeros(5, 10), 8000)
    with pytest.raises(ValueError, match="modulation"):
        F.flanger(x, 8000, modulation="square")
    with pytest.raises(ValueError, match="shift"):
        F.dcshift(x, 3.0)
    with pytest.raises(TypeError, match="waveform"):
        F.overdrive(x.long())
