"""The alignment kernels as torch ops: ``tritaudio::forced_align`` and the RNN-T loss
(``tritaudio::rnnt_loss_forward`` with its autograd, ``tritaudio::rnnt_loss_backward``)."""

import torch
from torch.library import triton_op, wrap_triton

from tritaudio._reference.alignment import ctc_states
from tritaudio.kernels import alignment as kernels


def _last_dim_contiguous(x):
    return x if x.stride(-1) == 1 or x.shape[-1] <= 1 else x.contiguous()


@triton_op("tritaudio::forced_align", mutates_args={})
def forced_align(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched CTC Viterbi alignment: (paths, scores), both ``(B, T)``."""
    log_probs = _last_dim_contiguous(log_probs)
    targets = _last_dim_contiguous(targets)
    states = kernels.forced_align(
        log_probs, targets, input_lengths, target_lengths, blank, launch=wrap_triton
    )
    labels, _, _ = ctc_states(targets, target_lengths, blank)
    paths = labels.gather(1, states.to(torch.int64))
    frames = torch.arange(log_probs.shape[1], device=log_probs.device)
    inside = frames[None, :] < input_lengths[:, None]
    paths = torch.where(inside, paths, blank)
    scores = torch.where(inside, log_probs.gather(2, paths[..., None])[..., 0], 0)
    return paths.to(targets.dtype), scores


@triton_op("tritaudio::rnnt_loss_forward", mutates_args={})
def rnnt_loss_forward(
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
    clamp: float,
    fused_log_softmax: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(costs (B,), log_probs (3, B, T, U1), alpha_beta (2, B, T, U1)); the last two are
    what the backward reads."""
    log_probs, alpha_beta = kernels.rnnt_forward(
        _last_dim_contiguous(logits), targets, logit_lengths, target_lengths, blank,
        fused_log_softmax, launch=wrap_triton,
    )  # fmt: skip
    costs = (-alpha_beta[1, :, 0, 0]).to(logits.dtype)
    return costs, log_probs, alpha_beta


@triton_op("tritaudio::rnnt_loss_backward", mutates_args={})
def rnnt_loss_backward(
    grad_costs: torch.Tensor,
    logits: torch.Tensor,
    targets: torch.Tensor,
    logit_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    log_probs: torch.Tensor,
    alpha_beta: torch.Tensor,
    blank: int,
    clamp: float,
    fused_log_softmax: int,
) -> torch.Tensor:
    """torchaudio's gradient of ``sum_b grad_costs[b] * cost_b`` w.r.t. ``logits``."""
    return kernels.rnnt_gradient(
        _last_dim_contiguous(logits), targets, logit_lengths, target_lengths, log_probs,
        alpha_beta, grad_costs.contiguous(), blank, clamp, fused_log_softmax,
        launch=wrap_triton,
    )  # fmt: skip


def _rnnt_setup(ctx, inputs, output):
    logits, targets, logit_lengths, target_lengths, blank, clamp, fused = inputs
    _, log_probs, alpha_beta = output
    ctx.save_for_backward(logits, targets, logit_lengths, target_lengths, log_probs, alpha_beta)
    ctx.options = (blank, clamp, fused)


def _rnnt_grad(ctx, grad_costs, grad_log_probs, grad_alpha_beta):
    saved = ctx.saved_tensors
    grad = rnnt_loss_backward(grad_costs, *saved, *ctx.options)
    return grad, None, None, None, None, None, None


rnnt_loss_forward.register_autograd(_rnnt_grad, setup_context=_rnnt_setup)


def rnnt_loss(logits, targets, logit_lengths, target_lengths, blank, clamp, fused_log_softmax):
    """Per-sequence RNN-T costs ``(B,)`` through the Triton ops, differentiable w.r.t.
    ``logits``."""
    costs, _, _ = rnnt_loss_forward(
        logits, targets, logit_lengths, target_lengths, blank, clamp, fused_log_softmax
    )
    return costs
