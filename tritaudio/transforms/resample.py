"""The resample family's transforms: Resample, Speed, SpeedPerturbation (torchaudio.transforms'
names); the filter is checked once, at construction.
"""

import torch

from tritaudio._checks import check_float_waveform
from tritaudio.functional.resample import (
    _apply_resample_filter,
    _resample_filter,
    _speed_lengths,
    _speed_rates,
    resample_tables,
)


class Resample(torch.nn.Module):
    """Resample a waveform from one rate to another.

    Mirrors ``torchaudio.transforms.Resample``; see :func:`tritaudio.functional.resample`.

    Args:
        orig_freq, new_freq: rates in Hz, positive integers.
        resampling_method: ``"sinc_interp_hann"`` or ``"sinc_interp_kaiser"``.
        lowpass_filter_width: zero crossings of the sinc on each side.
        rolloff: cut-off as a fraction of the lower Nyquist frequency, in (0, 1].
        beta: the Kaiser window's shape (default 14.769656459379492).
        dtype: precision of the filter tables kept (default float32; computed in float64
            either way). A waveform of another compute dtype (float64 for float64, else
            float32) uses tables built for it, cached per filter.

    Shape:
        ``(..., time)`` -> ``(..., ceil(new_freq * time / orig_freq))`` (gcd-reduced rates).

    The filter is kept as buffers, built once: ``kernel`` ``(new, n_taps)``, the polyphase
    table of its non-zero taps (gcd-reduced rates), ``first_input`` ``(new,)`` each phase's
    first input offset, and ``kernel_t`` / ``first_input_t`` the transposed table for the
    Triton path's backward pass; None when a table would hold more than 2**21 taps (the
    taps are then computed where they are used). They are not part of the state dict
    (torchaudio's ``kernel`` has another layout); a torchaudio checkpoint's ``kernel``
    entry is ignored when loading.
    """

    def __init__(
        self,
        orig_freq: int = 16000,
        new_freq: int = 16000,
        resampling_method: str = "sinc_interp_hann",
        lowpass_filter_width: int = 6,
        rolloff: float = 0.99,
        beta: float | None = None,
        *,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.orig_freq = orig_freq
        self.new_freq = new_freq
        self.resampling_method = resampling_method
        self.lowpass_filter_width = lowpass_filter_width
        self.rolloff = rolloff
        self.beta = beta
        self.filter = _resample_filter(
            orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta
        )
        if self.filter is not None:
            tables = resample_tables(self.filter, dtype or torch.float32, torch.device("cpu"))
            for suffix, table in zip(("", "_t"), tables, strict=True):
                taps, first = (None, None) if table is None else table
                self.register_buffer("kernel" + suffix, taps, persistent=False)
                self.register_buffer("first_input" + suffix, first, persistent=False)
        self._register_load_state_dict_pre_hook(_drop_torchaudio_kernel)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        check_float_waveform(waveform)
        if self.filter is None:
            return waveform
        return _apply_resample_filter(waveform, self.filter, self._tables())

    def _tables(self):
        """The filter's tables, as :func:`tritaudio.functional.resample_tables` gives them."""
        return tuple(
            None if taps is None else (taps, first)
            for taps, first in (
                (self.kernel, self.first_input),
                (self.kernel_t, self.first_input_t),
            )
        )


def _drop_torchaudio_kernel(state_dict, prefix, *args):
    state_dict.pop(prefix + "kernel", None)


class Speed(torch.nn.Module):
    """Change the speed of a waveform (its pitch changes with it).

    Mirrors ``torchaudio.transforms.Speed``; see :func:`tritaudio.functional.speed`.

    Args:
        orig_freq: the waveform's rate in Hz.
        factor: speed factor, > 0.

    Shape:
        ``(..., time)`` and optional lengths ``(...)`` -> ``((..., new_time), (...) or None)``.
    """

    def __init__(self, orig_freq: int, factor: float) -> None:
        super().__init__()
        self.orig_freq = orig_freq
        self.factor = factor
        self.source_sample_rate, self.target_sample_rate = _speed_rates(orig_freq, factor)
        self.resampler = Resample(self.source_sample_rate, self.target_sample_rate)

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        lengths = _speed_lengths(lengths, self.source_sample_rate, self.target_sample_rate)
        return self.resampler(waveform), lengths


class SpeedPerturbation(torch.nn.Module):
    """Apply a speed factor drawn uniformly from ``factors`` (one per call).

    Mirrors ``torchaudio.transforms.SpeedPerturbation``: the draw uses torch's global
    generator, ``torch.randint(len(factors), ())``.

    Args:
        orig_freq: the waveform's rate in Hz.
        factors: the speed factors to choose from.

    Shape:
        as :class:`Speed`.
    """

    def __init__(self, orig_freq: int, factors) -> None:
        super().__init__()
        if len(factors) == 0:
            raise ValueError("factors must hold at least one speed factor")
        self.speeders = torch.nn.ModuleList(Speed(orig_freq, factor) for factor in factors)

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        index = int(torch.randint(len(self.speeders), ()))
        return self.speeders[index](waveform, lengths)
