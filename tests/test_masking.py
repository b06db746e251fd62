"""FrequencyMasking, TimeMasking, SpecAugment: torchaudio's masks for the same seed.

The expected masks are replayed from torchaudio's published rule: for a shared mask,
length = U(0, 1) * mask_param and start = U(0, 1) * (size - length) from torch's global
generator, masking [int(start), int(start) + int(length)); for iid masks the same draws
per example, on the spectrogram's device, in its dtype.
"""

import pytest
import torch

import tritaudio.functional as F
import tritaudio.transforms as T


def spectrogram(device, shape=(2, 3, 20, 30)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(0)).to(device) + 1


def shared_interval(seed, mask_param, size):
    torch.manual_seed(seed)
    length = torch.rand(1) * mask_param
    start = torch.rand(1) * (size - length)
    return int(start), int(start) + int(length)


@pytest.mark.parametrize("axis", [2, 3])
def test_shared_mask_replays_torchaudio(backend, device, axis):
    spec = spectrogram(device)
    torch.manual_seed(7)
    out = F.mask_along_axis(spec, 12, -1.0, axis)
    first, last = shared_interval(7, 12, spec.shape[axis])
    expected = spec.clone()
    expected.narrow(axis, first, last - first).fill_(-1.0)
    assert torch.equal(out, expected)
    assert last > first  # this seed draws a non-empty mask, so the test can fail


@pytest.mark.parametrize("axis", [2, 3])
def test_iid_masks_replay_torchaudio(backend, device, axis):
    spec = spectrogram(device)
    torch.manual_seed(3)
    out = F.mask_along_axis_iid(spec, 12, 0.0, axis)
    torch.manual_seed(3)
    lengths = torch.rand(2, 3, device=device) * 12
    starts = torch.rand(2, 3, device=device) * (spec.shape[axis] - lengths)
    expected = spec.clone()
    for i in range(2):
        for j in range(3):
            first, last = int(starts[i, j]), int(starts[i, j]) + int(lengths[i, j])
            expected[i, j].narrow(axis - 2, first, last - first).zero_()
    assert torch.equal(out, expected)
    assert (out == 0).any(dim=(-2, -1)).sum() > 1  # several examples were masked


def test_transforms_use_the_right_axis(backend, device):
    spec = spectrogram(device, (3, 20, 30))
    torch.manual_seed(11)
    freq = T.FrequencyMasking(15)(spec)
    first, last = shared_interval(11, 15, 20)
    assert (freq[:, first:last, :] == 0).all() and (freq[:, last:, :] != 0).all()
    torch.manual_seed(11)
    time = T.TimeMasking(15)(spec, mask_value=5.0)
    first, last = shared_interval(11, 15, 30)
    assert (time[..., first:last] == 5.0).all() and (time[..., :first] != 5.0).all()


def test_time_masking_p_bounds_the_length(backend):
    spec = torch.ones(1, 10, 40)
    for seed in range(50):
        torch.manual_seed(seed)
        masked = T.TimeMasking(40, p=0.1)(spec)
        assert (masked[0, 0] == 0).sum() < 4  # int(40 * 0.1) = 4 columns at most, exclusive


def test_spec_augment_masks_on_the_input_device(backend, device):
    spec = spectrogram(device, (2, 4, 20, 30))
    torch.manual_seed(0)
    out = T.SpecAugment(2, 10, 2, 5, zero_masking=True)(spec)
    assert out.device == spec.device and out.shape == spec.shape
    assert (out == 0).any()
    torch.manual_seed(0)
    mean_filled = T.SpecAugment(1, 10, 0, 5, iid_masks=False)(spec)
    changed = mean_filled != spec
    assert torch.allclose(mean_filled[changed], spec.mean().expand(int(changed.sum())))


def test_zero_mask_param_returns_the_input(backend):
    spec = torch.rand(2, 5, 7)
    assert F.mask_along_axis(spec, 0, 0.0, 2) is spec
    assert F.mask_along_axis_iid(spec, 5, 0.0, 2, p=0.1) is spec  # int(7 * 0.1) = 0


def test_masking_bad_input():
    with pytest.raises(ValueError, match="at least 2 dims"):
        F.mask_along_axis(torch.zeros(5), 2, 0.0, 0)
    with pytest.raises(ValueError, match="at least 3 dims"):
        F.mask_along_axis_iid(torch.zeros(5, 5), 2, 0.0, 1)
    with pytest.raises(ValueError, match="axis must be 1"):
        F.mask_along_axis(torch.zeros(2, 5, 5), 2, 0.0, 0)
    with pytest.raises(ValueError, match="p must be in"):
        T.TimeMasking(5, p=1.5)
    with pytest.raises(ValueError, match="at least 3 dims"):
        T.FrequencyMasking(3, iid_masks=True)(torch.zeros(5, 5))


def test_mask_param_range_and_torchaudio_wording():
    # issue 14: params >= 2**63 overflowed the int64 draws; torchaudio's message leads
    for mask in (lambda: T.TimeMasking(2**63), lambda: T.SpecAugment(1, 2**63, 1, 2)):
        with pytest.raises(ValueError, match=r"mask_param must be an int in \[0, 2\*\*62\]"):
            mask()
    with pytest.raises(ValueError, match=r"mask_param must be an int in \[0, 2\*\*62\]"):
        F.mask_along_axis_iid(torch.zeros(1, 5, 5), 2**63, 0.0, 2)
    with pytest.raises(ValueError, match="^Only Frequency and Time masking are supported"):
        F.mask_along_axis(torch.zeros(2, 5, 5), 2, 0.0, 0)
    assert T.TimeMasking(2**62)(torch.zeros(1, 5, 5)).shape == (1, 5, 5)
