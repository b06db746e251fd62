"""Alignment and transducer loss with torchaudio.functional's names: forced_align (CTC
Viterbi), merge_tokens / TokenSpan, rnnt_loss.

torchaudio runs forced_align and rnnt_loss in C++ / CUDA; here they are Triton kernels
(one program per sequence, the label states in registers, a loop over time) with the
torch reference on the CPU. forced_align takes whole batches (torchaudio: batch size 1).
"""

import itertools
from dataclasses import dataclass

import torch

from tritaudio._backend import backend_for
from tritaudio._reference import alignment as _reference

INDEX_DTYPES = (torch.int32, torch.int64)


def _check_tensor(name, value, dims, layout):
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() != dims:
        raise ValueError(f"{name} must be {layout}, got shape {tuple(value.shape)}")


def _check_index_tensor(name, value, dims, layout):
    _check_tensor(name, value, dims, layout)
    if value.dtype not in INDEX_DTYPES:
        raise TypeError(f"{name} must be int32 or int64, got {value.dtype}")


def _check_values(condition, message):
    """A check on tensor values: a ValueError on the CPU; a device-side assert on any other
    device (no host synchronisation; the error surfaces at the next synchronising call)."""
    if condition.device.type != "cpu":
        torch._assert_async(condition, message)
    elif not bool(condition):
        raise ValueError(message)


def _check_device(reference_name, reference, **tensors):
    for name, value in tensors.items():
        if value is not None and value.device != reference.device:
            raise ValueError(
                f"{name} must be on {reference_name}'s device {reference.device}, "
                f"got {value.device}"
            )


def _lengths(name, lengths, batch, maximum, device):
    if lengths is None:
        return torch.full((batch,), maximum, dtype=torch.int64, device=device)
    _check_index_tensor(name, lengths, 1, f"(batch={batch},)")
    if lengths.shape[0] != batch:
        raise ValueError(f"{name} must have {batch} entries, got {lengths.shape[0]}")
    _check_values(
        ((lengths >= 0) & (lengths <= maximum)).all(),
        f"{name} must be in [0, {maximum}]",
    )
    return lengths


def forced_align(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor | None = None,
    target_lengths: torch.Tensor | None = None,
    blank: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Align CTC label sequences to emissions (the Viterbi path through the CTC lattice).

    Mirrors ``torchaudio.functional.forced_align`` (the same path, with torchaudio's
    tie-breaking), batched: torchaudio takes batch size 1; here each sequence of a batch
    is aligned within its own ``input_lengths[b]`` frames and ``target_lengths[b]`` labels.

    Args:
        log_probs: ``(B, T, C)`` log-probabilities, floating point.
        targets: ``(B, L)`` int32 / int64 labels (padding past ``target_lengths`` ignored),
            never ``blank``, below ``C``.
        input_lengths, target_lengths: ``(B,)`` int32 / int64; default ``T`` and ``L``.
        blank: the blank's index in ``[0, C)``.

    Returns:
        ``(paths, scores)``, both ``(B, T)``: the label per frame (targets' dtype) and
        ``log_probs`` at it. Past ``input_lengths[b]`` the path is ``blank`` and the score 0.
        A sequence needs ``T_b >= L_b + repeats``; when it cannot be aligned (e.g. -inf
        everywhere) its path is arbitrary.
    """
    _check_tensor("log_probs", log_probs, 3, "(batch, time, classes)")
    if not log_probs.is_floating_point():
        raise TypeError(f"log_probs must be floating point, got {log_probs.dtype}")
    _check_index_tensor("targets", targets, 2, "(batch, target length)")
    batch, n_time, n_classes = log_probs.shape
    if targets.shape[0] != batch:
        raise ValueError(f"targets must have log_probs' batch size {batch}, got {targets.shape[0]}")
    if isinstance(blank, bool) or not isinstance(blank, int) or not 0 <= blank < n_classes:
        raise ValueError(f"blank must be an int in [0, {n_classes}), got {blank!r}")
    device = log_probs.device
    _check_device(
        "log_probs", log_probs, targets=targets, input_lengths=input_lengths,
        target_lengths=target_lengths,
    )  # fmt: skip
    input_lengths = _lengths("input_lengths", input_lengths, batch, n_time, device)
    target_lengths = _lengths("target_lengths", target_lengths, batch, targets.shape[1], device)
    if targets.numel():
        used = torch.arange(targets.shape[1], device=device)[None, :] < target_lengths[:, None]
        _check_values(
            ~((targets == blank) & used).any(), f"targets must not contain the blank ({blank})"
        )
        _check_values(
            (((targets >= 0) & (targets < n_classes)) | ~used).all(),
            f"targets must be in [0, {n_classes})",
        )
        repeats = ((targets[:, 1:] == targets[:, :-1]) & used[:, 1:]).sum(-1)
        _check_values(
            (input_lengths >= target_lengths + repeats).all(),
            "targets are too long for CTC: each sequence needs input_lengths >= "
            "target_lengths + repeated labels",
        )
    if backend_for(log_probs) == "torch" or log_probs.numel() == 0:
        return _reference.forced_align(log_probs, targets, input_lengths, target_lengths, blank)
    from tritaudio import _ops

    return _ops.forced_align(log_probs, targets, input_lengths, target_lengths, blank)


@dataclass
class TokenSpan:
    """A token with its frame span and mean score; mirrors ``torchaudio.functional.TokenSpan``.

    Args:
        token: the label. start, end: its frames ``[start, end)`` on the emission's time
            axis. score: the mean of its frames' scores.

    Returns:
        (as a value) ``len(span)`` is ``end - start``.
    """

    token: int
    start: int
    end: int
    score: float

    def __len__(self) -> int:
        return self.end - self.start


def merge_tokens(tokens: torch.Tensor, scores: torch.Tensor, blank: int = 0) -> list[TokenSpan]:
    """Collapse a frame-level CTC path into token spans (repeats merged, blanks dropped).

    Mirrors ``torchaudio.functional.merge_tokens``.

    Args:
        tokens: ``(time,)`` labels (one sequence of :func:`forced_align`'s paths).
        scores: ``(time,)`` their scores; a span's score is their mean over the span.
        blank: the blank label.

    Returns:
        list of :class:`TokenSpan`.
    """
    for name, value in (("tokens", tokens), ("scores", scores)):
        _check_tensor(name, value, 1, "(time,)")
    if tokens.shape != scores.shape:
        raise ValueError(
            f"tokens and scores must have the same length, got {tokens.shape[0]} and "
            f"{scores.shape[0]}"
        )
    changes = torch.nonzero(torch.diff(tokens, prepend=tokens[:1] - 1) != 0)[:, 0].tolist()
    bounds = [*changes, tokens.shape[0]]
    labels = tokens.tolist()
    spans = []
    for start, end in itertools.pairwise(bounds):
        if labels[start] != blank:
            score = scores[start:end].mean().item()
            spans.append(TokenSpan(token=labels[start], start=start, end=end, score=score))
    return spans


RNNT_REDUCTIONS = ("none", "mean", "sum")


def rnnt_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int = -1,
    clamp: float = -1,
    reduction: str = "mean",
    fused_log_softmax: bool = True,
) -> torch.Tensor:
    """The RNN transducer loss (Graves 2012): ``-log P(targets | logits)`` over the
    (time, label) lattice.

    Mirrors ``torchaudio.functional.rnnt_loss``: the same costs and torchaudio's gradient
    with respect to ``logits`` (clamped to ``[-clamp, clamp]`` when ``clamp > 0``; 0 outside
    each sequence's lattice), computed in the backward pass from alpha and beta.

    Args:
        logits: ``(B, T, U + 1, V)`` joiner output, floating point.
        targets: ``(B, U)`` int32 / int64 labels (padding past ``target_lengths`` ignored).
        logit_lengths: ``(B,)`` frames per sequence, in [1, T].
        target_lengths: ``(B,)`` labels per sequence, in [0, U].
        blank: the blank's index; negative counts from the end (default -1: ``V - 1``).
        clamp: gradient clamp, when > 0. reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        fused_log_softmax: apply log-softmax to ``logits`` inside (False: ``logits`` are
            log-probabilities already).

    Returns:
        ``(B,)`` costs for ``"none"``, else a scalar.
    """
    if reduction not in RNNT_REDUCTIONS:
        raise ValueError(f"reduction must be one of {RNNT_REDUCTIONS}, got {reduction!r}")
    _check_tensor("logits", logits, 4, "(batch, time, target length + 1, classes)")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be floating point, got {logits.dtype}")
    _check_index_tensor("targets", targets, 2, "(batch, target length)")
    _check_index_tensor("logit_lengths", logit_lengths, 1, "(batch,)")
    _check_index_tensor("target_lengths", target_lengths, 1, "(batch,)")
    batch, n_time, n_labels, n_classes = logits.shape
    if targets.shape != (batch, n_labels - 1):
        raise ValueError(
            f"targets must be (batch={batch}, {n_labels - 1}) for logits of shape "
            f"{tuple(logits.shape)}, got {tuple(targets.shape)}"
        )
    _check_device(
        "logits", logits, targets=targets, logit_lengths=logit_lengths,
        target_lengths=target_lengths,
    )  # fmt: skip
    for name, lengths in (("logit_lengths", logit_lengths), ("target_lengths", target_lengths)):
        if lengths.shape[0] != batch:
            raise ValueError(f"{name} must have {batch} entries, got {lengths.shape[0]}")
    if isinstance(blank, bool) or not isinstance(blank, int) or not -n_classes <= blank < n_classes:
        raise ValueError(f"blank must be an int in [{-n_classes}, {n_classes}), got {blank!r}")
    blank = blank % n_classes
    clamp = float(clamp)
    if batch and n_time:
        _check_values(
            ((logit_lengths >= 1) & (logit_lengths <= n_time)).all(),
            f"logit_lengths must be in [1, {n_time}]",
        )
        _check_values(
            ((target_lengths >= 0) & (target_lengths <= n_labels - 1)).all(),
            f"target_lengths must be in [0, {n_labels - 1}]",
        )
        if targets.numel():
            _check_values(
                ((targets >= 0) & (targets < n_classes)).all(),
                f"targets must be in [0, {n_classes})",
            )
    if backend_for(logits) == "torch" or logits.numel() == 0:
        costs = _reference.rnnt_loss(
            logits, targets, logit_lengths, target_lengths, blank, clamp, bool(fused_log_softmax)
        )
    else:
        from tritaudio import _ops

        costs = _ops.rnnt_loss(
            logits,
            targets,
            logit_lengths,
            target_lengths,
            blank,
            clamp,
            int(bool(fused_log_softmax)),
        )
    if reduction == "mean":
        return costs.mean()
    if reduction == "sum":
        return costs.sum()
    return costs
