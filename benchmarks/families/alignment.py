"""Alignment: CTC forced alignment and the RNN-T loss.

forced_align on 32 utterances of 10 s: emissions at 50 frames/s (a wav2vec2-style
encoder), 32 classes, transcripts of 30 labels/s; rnnt_loss at B=8, T=500 (10 s at
50 frames/s), U=100, V=500, forward and forward + backward. torchaudio runs both in C++,
which is not built here: the baseline is tritaudio's torch reference (the same recurrences,
batched in torch), not torchaudio.
"""

import torch

from benchmarks.cases import REFERENCE, TRITON, Case, Size, on_backend

FRAMES_PER_SECOND = 50
LABELS_PER_SECOND = 30
N_CLASSES = 32
RNNT_LABELS_PER_SECOND = 10
RNNT_VOCABULARY = 500
TINY = Size(2, 0.25, 8000)


def _align_inputs(size, device):
    n_time = max(1, round(size.seconds * FRAMES_PER_SECOND))
    n_labels = max(1, round(size.seconds * LABELS_PER_SECOND))
    log_probs = torch.randn(size.batch, n_time, N_CLASSES, device=device).log_softmax(-1)
    targets = torch.randint(1, N_CLASSES, (size.batch, n_labels), device=device)
    return log_probs, targets


def _forced_align(library, size, device):
    return lambda log_probs, targets: library.functional.forced_align(log_probs, targets)[0]


def _rnnt_inputs(size, device):
    n_time = max(1, round(size.seconds * FRAMES_PER_SECOND))
    n_labels = max(1, round(size.seconds * RNNT_LABELS_PER_SECOND))
    logits = torch.randn(size.batch, n_time, n_labels + 1, RNNT_VOCABULARY, device=device)
    targets = torch.randint(0, RNNT_VOCABULARY - 1, (size.batch, n_labels), device=device)
    logit_lengths = torch.full((size.batch,), n_time, dtype=torch.int32, device=device)
    target_lengths = torch.full((size.batch,), n_labels, dtype=torch.int32, device=device)
    return logits, targets.to(torch.int32), logit_lengths, target_lengths


def _rnnt_loss(library, size, device):
    def loss(logits, targets, logit_lengths, target_lengths):
        return library.functional.rnnt_loss(
            logits, targets, logit_lengths, target_lengths, reduction="none"
        )

    return loss


def _ours_and_reference(build):
    import tritaudio

    return {
        TRITON: lambda size, device: on_backend("triton", build(tritaudio, size, device)),
        REFERENCE: lambda size, device: on_backend("torch", build(tritaudio, size, device)),
    }


CASES = [
    Case(
        "alignment",
        "forced_align",
        _ours_and_reference(_forced_align),
        make_inputs=_align_inputs,
        differentiable=False,
        headline=Size(32, 10, 16000),
        sizes=(TINY, Size(1, 10, 16000), Size(32, 10, 16000)),
        baseline=REFERENCE,
    ),
    Case(
        "alignment",
        "rnnt_loss",
        _ours_and_reference(_rnnt_loss),
        make_inputs=_rnnt_inputs,
        headline=Size(8, 10, 16000),
        sizes=(TINY, Size(8, 10, 16000)),
        baseline=REFERENCE,
    ),
]
