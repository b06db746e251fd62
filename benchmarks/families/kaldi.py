"""Kaldi filterbanks (compliance.kaldi.fbank, 80 mel bins, Kaldi's defaults otherwise) of
utterances of mixed lengths: torchaudio's fbank called per utterance in a loop against
tritaudio's fbank_batch on the zero-padded batch and its lengths.

A size of ``batch`` x ``seconds`` is ``batch`` utterances spread evenly from a tenth of
``seconds`` to ``seconds``: the headline, 64 x 20 s, is 64 utterances of 2 to 20 s.
"""

import torch

from benchmarks.cases import Case, Size, tritaudio_and_torchaudio

OPTIONS = dict(num_mel_bins=80)
HEADLINE = Size(64, 20, 16000)


def utterance_lengths(size):
    """Samples of each utterance, evenly from a tenth of the size's duration to all of it."""
    lengths = torch.linspace(size.samples // 10, size.samples, size.batch)
    return lengths.round().to(torch.int64)


def _utterances(size, device):
    waveforms = torch.randn(size.batch, size.samples, device=device)
    return waveforms, utterance_lengths(size).to(device)


def batched_fbank(library, size, device):
    """tritaudio: one call on the padded batch (features past each row's frames are 0)."""

    def features(waveforms, lengths):
        return library.compliance.kaldi.fbank_batch(waveforms, lengths, **OPTIONS)[0]

    return features


def per_utterance_fbank(library, size, device):
    """torchaudio: what its users write, one fbank per utterance (lengths known on the
    host), the outputs concatenated."""
    lengths = utterance_lengths(size).tolist()
    fbank = library.compliance.kaldi.fbank

    def features(waveforms, _lengths):
        rows = zip(waveforms, lengths, strict=True)
        return torch.cat([fbank(row[None, :n], **OPTIONS) for row, n in rows])

    return features


CASES = [
    Case(
        "kaldi",
        "fbank (utterances of mixed lengths)",
        tritaudio_and_torchaudio(batched_fbank, per_utterance_fbank),
        make_inputs=_utterances,
        sample_rate=16000,
        headline=HEADLINE,
    ),
]
