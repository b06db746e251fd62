"""Multi-channel beamforming with torchaudio.functional's names: PSD matrices, MVDR weights
(Souden's and from a relative transfer function), RTF estimates, applying the weights.

Plain torch on any device (small complex matrices per frequency: torch.linalg's batched
solvers are the right tool); differentiable. On the Triton path the solves skip torch's host
read of the solver's info (no synchronisation); ``rtf_evd``'s ``eigh`` has no such form.
"""

import numbers

import torch

from tritaudio._backend import backend_for


def _check_complex(name, value, min_dims, layout):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_complex():
        raise TypeError(
            f"{name} must be complex (torch.cfloat or torch.cdouble), got {value.dtype}"
        )
    if value.dim() < min_dims:
        raise ValueError(f"{name} must be {layout}, got shape {tuple(value.shape)}")


def _check_psd_pair(psd_s, psd_n):
    _check_complex("psd_s", psd_s, 3, "(..., freq, channel, channel)")
    _check_complex("psd_n", psd_n, 3, "(..., freq, channel, channel)")
    if psd_s.shape != psd_n.shape:
        raise ValueError(
            f"psd_s and psd_n must have the same shape, got {tuple(psd_s.shape)} and "
            f"{tuple(psd_n.shape)}"
        )
    if psd_s.shape[-1] != psd_s.shape[-2]:
        raise ValueError(f"psd_s must be square in its last two dims, got {tuple(psd_s.shape)}")


def _reference_vector(reference_channel, channels, dtype, name="reference_channel"):
    """An int channel index (checked), or a one-hot ``(..., channel)`` tensor in ``dtype``."""
    if isinstance(reference_channel, bool):
        raise TypeError(f"{name} must be an int or a tensor, got a bool")
    if isinstance(reference_channel, numbers.Integral):
        if not -channels <= reference_channel < channels:
            raise ValueError(f"{name} {reference_channel} is out of range for {channels} channels")
        return int(reference_channel)
    if isinstance(reference_channel, torch.Tensor):
        if reference_channel.dim() == 0 or reference_channel.shape[-1] != channels:
            raise ValueError(
                f"{name} as a tensor must be one-hot (..., channel={channels}), got "
                f"{tuple(reference_channel.shape)}"
            )
        return reference_channel.to(dtype)
    raise TypeError(f"{name} must be an int or a tensor, got {type(reference_channel).__name__}")


def _solve(a, b):
    """``torch.linalg.solve(a, b)``; on the Triton path its ``_ex`` form, the same numbers
    without the host read of the solver's info that makes ``solve`` synchronise on CUDA (a
    singular system then gives inf / NaN instead of an error; diagonal loading keeps it
    regular)."""
    if backend_for(a, b) == "triton":
        return torch.linalg.solve_ex(a, b).result
    return torch.linalg.solve(a, b)


def _trace(matrix):
    return matrix.diagonal(dim1=-2, dim2=-1).sum(-1)


def _diagonal_loading(matrix, reg, eps=1e-8):
    """Tikhonov regularisation as torchaudio's: ``+ (reg * Re tr(M) + eps) * I``."""
    loading = _trace(matrix).real[..., None, None] * reg + eps
    eye = torch.eye(matrix.shape[-1], dtype=matrix.dtype, device=matrix.device)
    return matrix + loading * eye


def psd(
    specgram: torch.Tensor,
    mask: torch.Tensor | None = None,
    normalize: bool = True,
    eps: float = 1e-10,
) -> torch.Tensor:
    """Cross-channel power spectral density matrices, mask-weighted over time.

    Mirrors ``torchaudio.functional.psd``: ``sum_t m[f, t] X[:, f, t] X[:, f, t]^H`` with
    the mask normalised to sum 1 over time when ``normalize`` (``mask / (sum + eps)``).

    Args:
        specgram: ``(..., channel, freq, time)``, complex.
        mask: ``(..., freq, time)``, real, or None (unweighted sum over time).
        normalize: normalise the mask over time. eps: added to the mask's sum.

    Returns:
        ``(..., freq, channel, channel)``, complex.
    """
    _check_complex("specgram", specgram, 3, "(..., channel, freq, time)")
    x = specgram.transpose(-3, -2)  # (..., freq, channel, time)
    if mask is not None:
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask must be a torch.Tensor or None, got {type(mask).__name__}")
        if mask.shape[:-1] != x.shape[:-2] or mask.shape[-1] != x.shape[-1]:
            raise ValueError(
                f"mask must be (..., freq, time) = {(*tuple(x.shape[:-2]), x.shape[-1])} to "
                f"match specgram, got {tuple(mask.shape)}"
            )
        if normalize:
            mask = mask / (mask.sum(dim=-1, keepdim=True) + eps)
        weighted = x * mask[..., None, :].to(x.dtype)
    else:
        weighted = x
    # The weighted outer products summed over time: one batched matmul.
    return weighted @ x.conj().transpose(-1, -2)


def mvdr_weights_souden(
    psd_s: torch.Tensor,
    psd_n: torch.Tensor,
    reference_channel: int | torch.Tensor,
    diagonal_loading: bool = True,
    diag_eps: float = 1e-7,
    eps: float = 1e-8,
) -> torch.Tensor:
    """MVDR weights by Souden's method: ``(Phi_NN^-1 Phi_SS / tr(Phi_NN^-1 Phi_SS)) u``.

    Mirrors ``torchaudio.functional.mvdr_weights_souden``.

    Args:
        psd_s, psd_n: ``(..., freq, channel, channel)``, complex: speech and noise PSDs.
        reference_channel: an int index, or a one-hot ``(..., channel)`` tensor.
        diagonal_loading: regularise ``psd_n`` with ``diag_eps * tr(psd_n) + 1e-8``.
        eps: added to the trace in the denominator.

    Returns:
        ``(..., freq, channel)``, complex.
    """
    _check_psd_pair(psd_s, psd_n)
    reference = _reference_vector(reference_channel, psd_n.shape[-1], psd_n.dtype)
    if diagonal_loading:
        psd_n = _diagonal_loading(psd_n, diag_eps)
    numerator = _solve(psd_n, psd_s)
    ws = numerator / (_trace(numerator)[..., None, None] + eps)
    if isinstance(reference, int):
        return ws[..., :, reference]
    return (ws * reference[..., None, None, :]).sum(-1)


def mvdr_weights_rtf(
    rtf: torch.Tensor,
    psd_n: torch.Tensor,
    reference_channel: int | torch.Tensor | None = None,
    diagonal_loading: bool = True,
    diag_eps: float = 1e-7,
    eps: float = 1e-8,
) -> torch.Tensor:
    """MVDR weights from a relative transfer function: ``Phi_NN^-1 v / (v^H Phi_NN^-1 v)``,
    scaled by ``conj(v[ref])`` when a reference channel is given.

    Mirrors ``torchaudio.functional.mvdr_weights_rtf``.

    Args:
        rtf: ``(..., freq, channel)``, complex. psd_n: ``(..., freq, channel, channel)``.
        reference_channel: None, an int index, or a one-hot ``(..., channel)`` tensor.
        diagonal_loading, diag_eps, eps: as :func:`mvdr_weights_souden`.

    Returns:
        ``(..., freq, channel)``, complex.
    """
    _check_complex("rtf", rtf, 2, "(..., freq, channel)")
    _check_complex("psd_n", psd_n, 3, "(..., freq, channel, channel)")
    if rtf.shape != psd_n.shape[:-1]:
        raise ValueError(
            f"rtf must be psd_n's shape without its last dim, {tuple(psd_n.shape[:-1])}, got "
            f"{tuple(rtf.shape)}"
        )
    if psd_n.shape[-1] != psd_n.shape[-2]:
        raise ValueError(f"psd_n must be square in its last two dims, got {tuple(psd_n.shape)}")
    reference = None
    if reference_channel is not None:
        reference = _reference_vector(reference_channel, psd_n.shape[-1], psd_n.dtype)
    if diagonal_loading:
        psd_n = _diagonal_loading(psd_n, diag_eps)
    numerator = _solve(psd_n, rtf.unsqueeze(-1)).squeeze(-1)
    denominator = (rtf.conj() * numerator).sum(-1)
    weights = numerator / (denominator.real.unsqueeze(-1) + eps)
    if reference is None:
        return weights
    if isinstance(reference, int):
        scale = rtf[..., reference].conj()
    else:
        scale = (rtf.conj() * reference[..., None, :]).sum(-1)
    return weights * scale[..., None]


def rtf_evd(psd_s: torch.Tensor) -> torch.Tensor:
    """The RTF (steering vector) as the principal eigenvector of the speech PSD.

    Mirrors ``torchaudio.functional.rtf_evd`` (``torch.linalg.eigh``'s eigenvector of the
    largest eigenvalue, with its phase convention).

    Args:
        psd_s: ``(..., freq, channel, channel)``, complex, Hermitian.

    Returns:
        ``(..., freq, channel)``, complex.
    """
    _check_complex("psd_s", psd_s, 2, "(..., freq, channel, channel)")
    if psd_s.shape[-1] != psd_s.shape[-2]:
        raise ValueError(f"psd_s must be square in its last two dims, got {tuple(psd_s.shape)}")
    return torch.linalg.eigh(psd_s).eigenvectors[..., -1]


def rtf_power(
    psd_s: torch.Tensor,
    psd_n: torch.Tensor,
    reference_channel: int | torch.Tensor,
    n_iter: int = 3,
    diagonal_loading: bool = True,
    diag_eps: float = 1e-7,
) -> torch.Tensor:
    """The RTF by the power method on ``Phi_NN^-1 Phi_SS``, started from the reference
    channel's column.

    Mirrors ``torchaudio.functional.rtf_power`` (``n_iter`` counts the solve and the final
    multiplication by ``psd_s`` as iterations, as torchaudio does).

    Args:
        psd_s, psd_n: ``(..., freq, channel, channel)``, complex.
        reference_channel: an int index, or a one-hot ``(..., channel)`` tensor.
        n_iter: iterations, >= 1. diagonal_loading, diag_eps: as :func:`mvdr_weights_souden`.

    Returns:
        ``(..., freq, channel)``, complex.
    """
    _check_psd_pair(psd_s, psd_n)
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral):
        raise TypeError(f"n_iter must be an int, got {n_iter!r}")
    if n_iter <= 0:
        raise ValueError(f"n_iter must be > 0, got {n_iter}")
    reference = _reference_vector(reference_channel, psd_n.shape[-1], psd_n.dtype)
    if diagonal_loading:
        psd_n = _diagonal_loading(psd_n, diag_eps)
    phi = _solve(psd_n, psd_s)
    if isinstance(reference, int):
        rtf = phi[..., reference]
    else:
        rtf = (phi * reference[..., None, None, :]).sum(-1)
    rtf = rtf.unsqueeze(-1)
    if n_iter == 1:
        # psd_n @ phi @ u: the reference column of psd_s (with the loading's round trip)
        return (psd_n @ rtf).squeeze(-1)
    for _ in range(n_iter - 2):
        rtf = phi @ rtf
    return (psd_s @ rtf).squeeze(-1)


def apply_beamforming(beamform_weights: torch.Tensor, specgram: torch.Tensor) -> torch.Tensor:
    """The enhanced single-channel spectrum ``w(f)^H Y(f, t)``.

    Mirrors ``torchaudio.functional.apply_beamforming``.

    Args:
        beamform_weights: ``(..., freq, channel)``, complex.
        specgram: ``(..., channel, freq, time)``, complex.

    Returns:
        ``(..., freq, time)``, complex.
    """
    _check_complex("beamform_weights", beamform_weights, 2, "(..., freq, channel)")
    _check_complex("specgram", specgram, 3, "(..., channel, freq, time)")
    if beamform_weights.shape[:-2] != specgram.shape[:-3]:
        raise ValueError(
            "beamform_weights' leading dims must equal specgram's (before channel, freq, "
            f"time): got {tuple(beamform_weights.shape)} and {tuple(specgram.shape)}"
        )
    channels, freq = specgram.shape[-3], specgram.shape[-2]
    if beamform_weights.shape[-2:] != (freq, channels):
        raise ValueError(
            f"beamform_weights must be (..., freq={freq}, channel={channels}), got "
            f"{tuple(beamform_weights.shape)}"
        )
    # (..., freq, 1, channel) @ (..., freq, channel, time) -> (..., freq, 1, time)
    weights = beamform_weights.conj().unsqueeze(-2)
    return (weights @ specgram.transpose(-3, -2)).squeeze(-2)
