"""The RNN-T loss as a module, with torchaudio.transforms' name: RNNTLoss."""

import torch

from tritaudio.functional import alignment as F


class RNNTLoss(torch.nn.Module):
    """RNN transducer loss; mirrors ``torchaudio.transforms.RNNTLoss``.

    Args:
        blank: the blank's index (default -1: the last class). clamp: gradient clamp when
            > 0. reduction: ``"none"``, ``"mean"`` or ``"sum"``. fused_log_softmax: apply
            log-softmax inside (False: the logits are log-probabilities).

    Shape:
        logits ``(B, T, U + 1, V)``, targets ``(B, U)``, logit_lengths and target_lengths
        ``(B,)`` -> ``(B,)`` for ``"none"``, else a scalar.
    """

    def __init__(
        self,
        blank: int = -1,
        clamp: float = -1.0,
        reduction: str = "mean",
        fused_log_softmax: bool = True,
    ):
        super().__init__()
        if reduction not in F.RNNT_REDUCTIONS:
            raise ValueError(f"reduction must be one of {F.RNNT_REDUCTIONS}, got {reduction!r}")
        self.blank = blank
        self.clamp = clamp
        self.reduction = reduction
        self.fused_log_softmax = fused_log_softmax

    def forward(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        logit_lengths: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> torch.Tensor:
        return F.rnnt_loss(
            logits, targets, logit_lengths, target_lengths, self.blank, self.clamp,
            self.reduction, self.fused_log_softmax,
        )  # fmt: skip
