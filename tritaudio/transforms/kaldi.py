"""KaldiFeatures (beyond torchaudio): compliance.kaldi's fbank / mfcc / spectrogram as a
module over batches, in the transforms' ``(..., features, frames)`` layout."""

import torch

from tritaudio.compliance import _features, kaldi

KALDI_FEATURES = {
    "fbank": (kaldi.fbank, kaldi.fbank_batch),
    "mfcc": (kaldi.mfcc, kaldi.mfcc_batch),
    "spectrogram": (kaldi.spectrogram, kaldi.spectrogram_batch),
}


class KaldiFeatures(torch.nn.Module):
    """Kaldi's ``compute-fbank-feats`` / ``compute-mfcc-feats`` /
    ``compute-spectrogram-feats`` of every row of a batch, with each row's length.

    Row ``b`` of the output, up to ``num_frames(lengths)[b]`` frames, equals
    ``tritaudio.compliance.kaldi.<feature>(waveform[b, :lengths[b]], **options).T`` (and
    torchaudio's); the frames after them are zeros.

    Args:
        feature: ``"fbank"``, ``"mfcc"`` or ``"spectrogram"``.
        options: the keyword arguments of that function (not ``channel``), e.g.
            ``num_mel_bins=80``, ``sample_frequency=8000.0``, ``dither=1.0, generator=g``;
            all checked here.

    Attributes:
        n_fft, hop_length: a frame's samples and the samples between frames.

    Shape:
        ``(..., time)`` and optional ``lengths`` ``(batch,)`` for the flattened batch ->
        ``(..., features, frames)``.
    """

    def __init__(self, feature: str = "fbank", **options) -> None:
        super().__init__()
        if feature not in KALDI_FEATURES:
            raise ValueError(f"feature must be one of {list(KALDI_FEATURES)}, got {feature!r}")
        single, self._batch = KALDI_FEATURES[feature]
        generator = options.pop("generator", None)
        args = kaldi._bound_options(single, options)
        self.frame_options = _features.frame_options(args)
        self.feature, self.options, self.generator = feature, options, generator
        self.min_samples = args["min_duration"] * args["sample_frequency"]
        self.n_fft = self.frame_options.window_size
        self.hop_length = self.frame_options.window_shift

    def num_frames(self, lengths):
        """Frames of rows of ``lengths`` samples (an int or an int tensor)."""
        frames = _features.reference.frame_counts(lengths, self.frame_options)
        if isinstance(lengths, torch.Tensor):
            return torch.where(lengths < self.min_samples, 0, frames)
        return 0 if lengths < self.min_samples else frames

    def forward(self, waveform: torch.Tensor, lengths=None) -> torch.Tensor:
        rows = waveform.reshape(-1, waveform.shape[-1])
        features, _ = self._batch(rows, lengths, generator=self.generator, **self.options)
        features = features.transpose(-1, -2)
        return features.reshape(*waveform.shape[:-1], *features.shape[-2:])
