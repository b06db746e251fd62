"""Beamforming modules with torchaudio.transforms' names: PSD, MVDR, SoudenMVDR, RTFMVDR."""

import warnings

import torch

from tritaudio.functional import beamforming as F

MVDR_SOLUTIONS = ("ref_channel", "stv_evd", "stv_power")


def _mvdr_weights(psd_s, psd_n, reference_vector, solution, diagonal_loading, diag_eps, eps=1e-8):
    if solution == "ref_channel":
        return F.mvdr_weights_souden(
            psd_s, psd_n, reference_vector, diagonal_loading, diag_eps, eps
        )
    if solution == "stv_evd":
        steering = F.rtf_evd(psd_s)
    else:
        steering = F.rtf_power(
            psd_s, psd_n, reference_vector, diagonal_loading=diagonal_loading, diag_eps=diag_eps
        )
    return F.mvdr_weights_rtf(steering, psd_n, reference_vector, diagonal_loading, diag_eps, eps)


class PSD(torch.nn.Module):
    """Cross-channel PSD matrices; mirrors ``torchaudio.transforms.PSD``.

    Args:
        multi_mask: the mask has a channel dim (averaged over it).
        normalize: normalise the mask over time. eps: added to the mask's sum.

    Shape:
        specgram ``(..., channel, freq, time)``, mask ``(..., freq, time)`` (or
        ``(..., channel, freq, time)`` with ``multi_mask``) -> ``(..., freq, channel, channel)``.
    """

    def __init__(self, multi_mask: bool = False, normalize: bool = True, eps: float = 1e-15):
        super().__init__()
        self.multi_mask = multi_mask
        self.normalize = normalize
        self.eps = eps

    def forward(self, specgram: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None and self.multi_mask:
            mask = mask.mean(dim=-3)
        return F.psd(specgram, mask, self.normalize, self.eps)


class MVDR(torch.nn.Module):
    """MVDR beamforming with time-frequency masks; mirrors ``torchaudio.transforms.MVDR``.

    Computes in complex128 (a complex64 input is converted, and the output converted back,
    as torchaudio does).

    Args:
        ref_channel: the reference channel. solution: ``"ref_channel"`` (Souden),
            ``"stv_evd"`` or ``"stv_power"`` (steering vector by EVD / power method).
        multi_mask: masks have a channel dim. diag_loading, diag_eps: regularise the noise
            PSD. online: update the PSDs recursively across calls (streaming).

    Shape:
        specgram ``(..., channel, freq, time)``, masks ``(..., freq, time)`` ->
        ``(..., freq, time)``.
    """

    def __init__(
        self,
        ref_channel: int = 0,
        solution: str = "ref_channel",
        multi_mask: bool = False,
        diag_loading: bool = True,
        diag_eps: float = 1e-7,
        online: bool = False,
    ):
        super().__init__()
        if solution not in MVDR_SOLUTIONS:
            raise ValueError(f"solution must be one of {MVDR_SOLUTIONS}, got {solution!r}")
        self.ref_channel = ref_channel
        self.solution = solution
        self.multi_mask = multi_mask
        self.diag_loading = diag_loading
        self.diag_eps = diag_eps
        self.online = online
        self.psd = PSD(multi_mask)
        for name in ("psd_s", "psd_n", "mask_sum_s", "mask_sum_n"):
            self.register_buffer(name, torch.zeros(1))

    def _updated(self, name, psd, mask):
        """Running mask-weighted average of a PSD across calls (torchaudio's recursion)."""
        previous, mask_sum = getattr(self, f"psd_{name}"), getattr(self, f"mask_sum_{name}")
        total = mask_sum + mask.sum(dim=-1)
        return previous * (mask_sum / total)[..., None, None] + psd * (1 / total)[..., None, None]

    def forward(
        self, specgram: torch.Tensor, mask_s: torch.Tensor, mask_n: torch.Tensor | None = None
    ) -> torch.Tensor:
        if not isinstance(specgram, torch.Tensor) or specgram.dim() < 3:
            raise ValueError("specgram must be a (..., channel, freq, time) tensor")
        if not specgram.is_complex():
            raise ValueError(f"specgram must be complex (cfloat or cdouble), got {specgram.dtype}")
        dtype = specgram.dtype
        if specgram.dtype == torch.cfloat:
            specgram = specgram.cdouble()
        if mask_n is None:
            warnings.warn("mask_n is not provided: using 1 - mask_s", stacklevel=2)
            mask_n = 1 - mask_s
        psd_s = self.psd(specgram, mask_s)
        psd_n = self.psd(specgram, mask_n)
        u = torch.zeros(specgram.shape[:-2], device=specgram.device, dtype=torch.cdouble)
        u[..., self.ref_channel].fill_(1)  # a fill (traced without a lifted 0-d constant)
        if self.online:
            if self.multi_mask:
                mask_s, mask_n = mask_s.mean(dim=-3), mask_n.mean(dim=-3)
            if self.psd_s.dim() != 1:
                psd_s = self._updated("s", psd_s, mask_s)
                psd_n = self._updated("n", psd_n, mask_n)
                mask_sum_s = self.mask_sum_s + mask_s.sum(dim=-1)
                mask_sum_n = self.mask_sum_n + mask_n.sum(dim=-1)
            else:
                mask_sum_s, mask_sum_n = mask_s.sum(dim=-1), mask_n.sum(dim=-1)
            self.psd_s, self.psd_n = psd_s, psd_n
            self.mask_sum_s, self.mask_sum_n = mask_sum_s, mask_sum_n
        weights = _mvdr_weights(psd_s, psd_n, u, self.solution, self.diag_loading, self.diag_eps)
        return F.apply_beamforming(weights, specgram).to(dtype)


class RTFMVDR(torch.nn.Module):
    """MVDR from an RTF and the noise PSD; mirrors ``torchaudio.transforms.RTFMVDR``.

    Shape:
        specgram ``(..., channel, freq, time)``, rtf ``(..., freq, channel)``, psd_n
        ``(..., freq, channel, channel)`` -> ``(..., freq, time)``.
    """

    def forward(
        self,
        specgram: torch.Tensor,
        rtf: torch.Tensor,
        psd_n: torch.Tensor,
        reference_channel: int | torch.Tensor,
        diagonal_loading: bool = True,
        diag_eps: float = 1e-7,
        eps: float = 1e-8,
    ) -> torch.Tensor:
        weights = F.mvdr_weights_rtf(rtf, psd_n, reference_channel, diagonal_loading, diag_eps, eps)
        return F.apply_beamforming(weights, specgram)


class SoudenMVDR(torch.nn.Module):
    """Souden's MVDR from the speech and noise PSDs; mirrors
    ``torchaudio.transforms.SoudenMVDR``.

    Shape:
        specgram ``(..., channel, freq, time)``, psd_s / psd_n
        ``(..., freq, channel, channel)`` -> ``(..., freq, time)``.
    """

    def forward(
        self,
        specgram: torch.Tensor,
        psd_s: torch.Tensor,
        psd_n: torch.Tensor,
        reference_channel: int | torch.Tensor,
        diagonal_loading: bool = True,
        diag_eps: float = 1e-7,
        eps: float = 1e-8,
    ) -> torch.Tensor:
        weights = F.mvdr_weights_souden(
            psd_s, psd_n, reference_channel, diagonal_loading, diag_eps, eps
        )
        return F.apply_beamforming(weights, specgram)
