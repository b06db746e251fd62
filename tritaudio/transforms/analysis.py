"""Analysis modules with torchaudio.transforms' names: SpectralCentroid, SlidingWindowCmn,
Vad, VadBatch (beyond torchaudio), Loudness, MuLawEncoding, MuLawDecoding, InverseMelScale."""

import torch

from tritaudio.functional import analysis as F


class SpectralCentroid(torch.nn.Module):
    """Spectral centroid per frame; mirrors ``torchaudio.transforms.SpectralCentroid``.

    Args:
        sample_rate: Hz. n_fft: FFT size (default 400). win_length: default ``n_fft``.
        hop_length: default ``win_length // 2``. pad: zeros on both sides.
        window_fn, wkwargs: the window (a buffer, default Hann).

    Shape:
        ``(..., time)`` -> ``(..., frames)``.
    """

    def __init__(
        self,
        sample_rate: int,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        pad: int = 0,
        window_fn=torch.hann_window,
        wkwargs: dict | None = None,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        window = window_fn(self.win_length, **(wkwargs or {}))
        self.register_buffer("window", window)
        self.pad = pad

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return F.spectral_centroid(
            waveform, self.sample_rate, self.pad, self.window, self.n_fft, self.hop_length,
            self.win_length,
        )  # fmt: skip


class SlidingWindowCmn(torch.nn.Module):
    """Sliding-window CMN; mirrors ``torchaudio.transforms.SlidingWindowCmn``.

    Args:
        cmn_window, min_cmn_window, center, norm_vars: as
            :func:`tritaudio.functional.sliding_window_cmn`.

    Shape:
        ``(..., time, freq)`` -> ``(..., time, freq)``.
    """

    def __init__(
        self,
        cmn_window: int = 600,
        min_cmn_window: int = 100,
        center: bool = False,
        norm_vars: bool = False,
    ) -> None:
        super().__init__()
        self.cmn_window = cmn_window
        self.min_cmn_window = min_cmn_window
        self.center = center
        self.norm_vars = norm_vars

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        return F.sliding_window_cmn(
            specgram, self.cmn_window, self.min_cmn_window, self.center, self.norm_vars
        )


class Vad(torch.nn.Module):
    """Voice activity detector (sox's vad); mirrors ``torchaudio.transforms.Vad``.

    Args:
        sample_rate, trigger_level, ... lp_lifter_freq: :func:`tritaudio.functional.vad`'s.

    Shape:
        ``(channels, time)`` or ``(time,)`` -> the same with the leading silence trimmed.
    """

    def __init__(
        self,
        sample_rate: int,
        trigger_level: float = 7.0,
        trigger_time: float = 0.25,
        search_time: float = 1.0,
        allowed_gap: float = 0.25,
        pre_trigger_time: float = 0.0,
        boot_time: float = 0.35,
        noise_up_time: float = 0.1,
        noise_down_time: float = 0.01,
        noise_reduction_amount: float = 1.35,
        measure_freq: float = 20.0,
        measure_duration: float | None = None,
        measure_smooth_time: float = 0.4,
        hp_filter_freq: float = 50.0,
        lp_filter_freq: float = 6000.0,
        hp_lifter_freq: float = 150.0,
        lp_lifter_freq: float = 2000.0,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.trigger_level = trigger_level
        self.trigger_time = trigger_time
        self.search_time = search_time
        self.allowed_gap = allowed_gap
        self.pre_trigger_time = pre_trigger_time
        self.boot_time = boot_time
        self.noise_up_time = noise_up_time
        self.noise_down_time = noise_down_time
        self.noise_reduction_amount = noise_reduction_amount
        self.measure_freq = measure_freq
        self.measure_duration = measure_duration
        self.measure_smooth_time = measure_smooth_time
        self.hp_filter_freq = hp_filter_freq
        self.lp_filter_freq = lp_filter_freq
        self.hp_lifter_freq = hp_lifter_freq
        self.lp_lifter_freq = lp_lifter_freq

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return F.vad(
            waveform, self.sample_rate, self.trigger_level, self.trigger_time,
            self.search_time, self.allowed_gap, self.pre_trigger_time, self.boot_time,
            self.noise_up_time, self.noise_down_time, self.noise_reduction_amount,
            self.measure_freq, self.measure_duration, self.measure_smooth_time,
            self.hp_filter_freq, self.lp_filter_freq, self.hp_lifter_freq, self.lp_lifter_freq,
        )  # fmt: skip


class VadBatch(Vad):
    """:class:`Vad` on each clip of a batch, on the device (beyond torchaudio); the
    module form of :func:`tritaudio.functional.vad_batch`.

    Args:
        sample_rate, trigger_level, ... lp_lifter_freq: :class:`Vad`'s (torchaudio's).

    Shape:
        ``waveforms`` ``(batch, time)`` or ``(batch, channels, time)``, optional
        ``lengths`` ``(batch,)`` -> ``(trimmed, lengths, start)``: the trimmed clips at the
        front of a tensor of ``waveforms``' shape, zero-padded, and per clip the kept
        length and the start of the kept samples in the input (int64 ``(batch,)``).
    """

    def forward(
        self, waveforms: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return F.vad_batch(
            waveforms, self.sample_rate, lengths, self.trigger_level, self.trigger_time,
            self.search_time, self.allowed_gap, self.pre_trigger_time, self.boot_time,
            self.noise_up_time, self.noise_down_time, self.noise_reduction_amount,
            self.measure_freq, self.measure_duration, self.measure_smooth_time,
            self.hp_filter_freq, self.lp_filter_freq, self.hp_lifter_freq, self.lp_lifter_freq,
        )  # fmt: skip


class Loudness(torch.nn.Module):
    """BS.1770-4 loudness; mirrors ``torchaudio.transforms.Loudness``.

    Args:
        sample_rate: Hz.

    Shape:
        ``(..., channels, time)`` -> ``(...)`` in LKFS.
    """

    def __init__(self, sample_rate: int) -> None:
        super().__init__()
        self.sample_rate = sample_rate

    def forward(self, wavefrom: torch.Tensor) -> torch.Tensor:
        # "wavefrom": torchaudio's argument name, kept for keyword callers.
        return F.loudness(wavefrom, self.sample_rate)


class MuLawEncoding(torch.nn.Module):
    """Mu-law encoding; mirrors ``torchaudio.transforms.MuLawEncoding``.

    Args:
        quantization_channels: number of levels (default 256).

    Shape:
        any -> the same, int64 in ``0 .. quantization_channels - 1``.
    """

    def __init__(self, quantization_channels: int = 256) -> None:
        super().__init__()
        self.quantization_channels = quantization_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.mu_law_encoding(x, self.quantization_channels)


class MuLawDecoding(torch.nn.Module):
    """Mu-law decoding; mirrors ``torchaudio.transforms.MuLawDecoding``.

    Args:
        quantization_channels: number of levels (default 256).

    Shape:
        any -> the same, floating point in [-1, 1].
    """

    def __init__(self, quantization_channels: int = 256) -> None:
        super().__init__()
        self.quantization_channels = quantization_channels

    def forward(self, x_mu: torch.Tensor) -> torch.Tensor:
        return F.mu_law_decoding(x_mu, self.quantization_channels)


LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


class InverseMelScale(torch.nn.Module):
    """Least-squares estimate of a linear-frequency spectrogram from a mel one.

    Mirrors ``torchaudio.transforms.InverseMelScale``: ``relu(lstsq(fb.T, melspec))`` with
    the mel filterbank ``fb`` (a buffer, ``(n_stft, n_mels)``).

    Args:
        n_stft: frequency bins (``n_fft // 2 + 1``). n_mels, sample_rate, f_min, f_max,
            norm, mel_scale: the filterbank's, as :class:`MelScale`.
        driver: ``torch.linalg.lstsq``'s driver: ``"gels"`` (the only one on CUDA),
            ``"gelsy"``, ``"gelsd"`` or ``"gelss"``.

    Shape:
        ``(..., n_mels, time)`` -> ``(..., n_stft, time)``.
    """

    def __init__(
        self,
        n_stft: int,
        n_mels: int = 128,
        sample_rate: int = 16000,
        f_min: float = 0.0,
        f_max: float | None = None,
        norm: str | None = None,
        mel_scale: str = "htk",
        driver: str = "gels",
    ) -> None:
        super().__init__()
        from tritaudio import functional

        self.n_stft = n_stft
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.f_max = f_max or float(sample_rate // 2)
        self.f_min = f_min
        self.norm = norm
        self.mel_scale = mel_scale
        self.driver = driver
        if f_min > self.f_max:
            raise ValueError(f"f_min ({f_min}) must not exceed f_max ({self.f_max})")
        if driver not in LSTSQ_DRIVERS:
            raise ValueError(f"driver must be one of {LSTSQ_DRIVERS}, got {driver!r}")
        fb = functional.melscale_fbanks(
            n_stft, f_min, self.f_max, n_mels, sample_rate, norm, mel_scale
        )
        self.register_buffer("fb", fb)

    def forward(self, melspec: torch.Tensor) -> torch.Tensor:
        if not isinstance(melspec, torch.Tensor) or not melspec.is_floating_point():
            raise TypeError("melspec must be a real floating-point tensor")
        if melspec.dim() < 2 or melspec.shape[-2] != self.n_mels:
            raise ValueError(
                f"melspec must be (..., n_mels={self.n_mels}, time), got {tuple(melspec.shape)}"
            )
        shape = melspec.shape
        batch = melspec.reshape(-1, shape[-2], shape[-1])
        fb = self.fb.to(melspec.dtype).transpose(-1, -2)[None]
        solution = torch.linalg.lstsq(fb, batch, driver=self.driver).solution
        return torch.relu(solution).reshape(*shape[:-2], self.fb.shape[0], shape[-1])
