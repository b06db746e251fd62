"""Alignment kernels: CTC forced alignment (Viterbi) and the RNN-T loss.

forced_align: one program per sequence. The 2L + 1 extended CTC states live in registers;
the program loops over time. Each step needs the previous step's scores shifted by one
and two states, which go through a two-row scratch buffer (store, barrier, shifted
loads); the back-pointers (int8, (T, S) per sequence) are written as it goes, and the
same program backtracks from the last frame.

rnnt_loss: three kernels. (1) per lattice node (b, t, u): the log-normaliser over the
vocabulary and the blank / next-target log-probabilities. (2) alpha and beta, one program
per (sequence, direction), the U + 1 label positions in registers, a loop over time; along
u each row is the first-order log-space recurrence x_u = lse(a_u, x_{u-1} + e_{u-1}),
solved by an associative scan over the maps x -> lse(a, x + e). (3) the gradient with
respect to the logits, per node and vocabulary block, from alpha, beta and log P.
"""

import torch
import triton
import triton.language as tl

from .launch import block_size, num_warps


@triton.jit
def _lse(x, y):
    # log(exp(x) + exp(y)) = max + log(1 + exp(min - max)): two transcendentals, not three;
    # -inf when both are -inf, NaN when either is
    top = tl.maximum(x, y, propagate_nan=tl.PropagateNan.ALL)
    low = tl.minimum(x, y, propagate_nan=tl.PropagateNan.ALL)
    return tl.where(top == float("-inf"), top, top + tl.log(1.0 + tl.exp(low - top)))


@triton.jit
def _compose(a1, e1, a2, e2):
    # (x -> lse(a2, x + e2)) after (x -> lse(a1, x + e1))
    #   = (x -> lse(lse(a2, a1 + e2), x + e1 + e2))
    return _lse(a2, a1 + e2), e1 + e2


@triton.jit
def forced_align_kernel(
    LOG_PROBS,  # pointer to the emissions, (B, T, C), last dim contiguous
    TARGETS,  # pointer to the labels, (B, L), last dim contiguous
    INPUT_LENGTHS,  # pointer to the frames per sequence, (B,)
    TARGET_LENGTHS,  # pointer to the labels per sequence, (B,)
    SCRATCH,  # pointer to two rows of scores per sequence, (B, 2, BLOCK_S), compute dtype
    BACK,  # pointer to the back-pointers, (B, T, BLOCK_S), int8
    STATES,  # pointer to the output state per frame, (B, T), int32
    stride_lp_b,
    stride_lp_t,
    stride_targets_b,
    n_time,
    blank,
    BLOCK_S: tl.constexpr,
):
    b = tl.program_id(0)
    n_frames = tl.load(INPUT_LENGTHS + b).to(tl.int32)
    n_labels = tl.load(TARGET_LENGTHS + b).to(tl.int32)
    n_states = 2 * n_labels + 1
    s = tl.arange(0, BLOCK_S)
    valid = s < n_states
    odd = (s % 2) == 1
    label = tl.load(TARGETS + b * stride_targets_b + s // 2, mask=odd & valid, other=0)
    label = tl.where(odd, label, blank).to(tl.int32)
    previous_label = tl.load(
        TARGETS + b * stride_targets_b + s // 2 - 1, mask=odd & valid & (s >= 3), other=0
    )
    can_skip = odd & (s >= 3) & (label != previous_label.to(tl.int32))
    emissions = LOG_PROBS + b * stride_lp_b + label
    acc_dtype = SCRATCH.dtype.element_ty
    alpha = tl.load(emissions, mask=valid & (s < 2), other=float("-inf")).to(acc_dtype)
    scratch = SCRATCH + b * 2 * BLOCK_S
    back = BACK + b * n_time * BLOCK_S
    for t in range(1, n_frames):
        row = scratch + (t % 2) * BLOCK_S
        tl.store(row + s, alpha)
        tl.debug_barrier()
        step = tl.load(row + s - 1, mask=s >= 1, other=float("-inf"))
        jump = tl.load(row + s - 2, mask=can_skip, other=float("-inf"))
        # torchaudio's ties: the skip only when strictly best, then s - 1 when above s.
        take_jump = (jump > step) & (jump > alpha)
        take_step = (step > alpha) & ~take_jump
        best = tl.where(take_jump, jump, tl.where(take_step, step, alpha))
        choice = tl.where(take_jump, 2, tl.where(take_step, 1, 0))
        emission = tl.load(emissions + t * stride_lp_t, mask=valid, other=0.0).to(acc_dtype)
        alpha = tl.where(valid, best + emission, float("-inf"))
        tl.store(back + t * BLOCK_S + s, choice.to(tl.int8))
    # the last state (label) when strictly above the last-but-one (blank)
    last = tl.max(tl.where(s == n_states - 1, alpha, float("-inf")), axis=0)
    before = tl.max(tl.where(s == n_states - 2, alpha, float("-inf")), axis=0)
    state = tl.where((last > before) | (n_states == 1), n_states - 1, n_states - 2)
    states = STATES + b * n_time
    for i in range(0, n_frames):
        t = n_frames - 1 - i
        tl.store(states + t, state)
        step_back = tl.load(back + t * BLOCK_S + state, mask=t > 0, other=0)
        state = state - step_back.to(tl.int32)


def forced_align(log_probs, targets, input_lengths, target_lengths, blank, launch=lambda k: k):
    """Viterbi state per frame, ``(B, T)`` int32 (padding frames 0), for ``log_probs``
    ``(B, T, C)`` and ``targets`` ``(B, L)`` with last dims contiguous."""
    batch, n_time, n_classes = log_probs.shape
    max_labels = targets.shape[1]
    if batch * n_time * max(n_classes, 1) >= 2**31 or (2 * max_labels + 1) * n_time >= 2**31:
        raise ValueError("forced_align's Triton kernel indexes with int32: input too large")
    block = triton.next_power_of_2(2 * max_labels + 1)
    acc_dtype = torch.float64 if log_probs.dtype == torch.float64 else torch.float32
    scratch = torch.empty(batch, 2, block, dtype=acc_dtype, device=log_probs.device)
    back = torch.empty(batch, n_time, block, dtype=torch.int8, device=log_probs.device)
    states = torch.zeros(batch, n_time, dtype=torch.int32, device=log_probs.device)
    if targets.shape[1] == 0:
        targets = torch.zeros(batch, 1, dtype=targets.dtype, device=targets.device)
    launch(forced_align_kernel)[(batch,)](
        log_probs,
        targets,
        input_lengths,
        target_lengths,
        scratch,
        back,
        states,
        log_probs.stride(0),
        log_probs.stride(1),
        targets.stride(0),
        n_time,
        blank,
        BLOCK_S=block,
        num_warps=num_warps(block),
    )
    return states


@triton.jit
def rnnt_log_probs_kernel(
    LOGITS,  # pointer to the joiner output, (B, T, U1, V), last dim contiguous
    TARGETS,  # pointer to the labels, (B, U1 - 1)
    LOG_PROBS,  # pointer to the output, (3, B, T, U1): skip, emit, log-normaliser
    stride_logits_b,
    stride_logits_t,
    stride_logits_u,
    stride_targets_b,
    n_time,
    n_labels,
    n_classes,
    n_nodes,
    blank,
    FUSED: tl.constexpr,
    SINGLE_BLOCK: tl.constexpr,
    BLOCK_V: tl.constexpr,
):
    node = tl.program_id(0)
    u = node % n_labels
    t = (node // n_labels) % n_time
    b = node // (n_labels * n_time)
    row = LOGITS + b * stride_logits_b + t * stride_logits_t + u * stride_logits_u
    v = tl.arange(0, BLOCK_V)
    acc_dtype = LOG_PROBS.dtype.element_ty
    if FUSED and SINGLE_BLOCK:
        # the whole vocabulary in one block: max, then one exp per class
        x = tl.load(row + v, mask=v < n_classes, other=float("-inf")).to(acc_dtype)
        peak = tl.max(x, axis=0)
        safe_peak = tl.where(peak == float("-inf"), 0.0, peak)
        denominator = safe_peak + tl.log(tl.sum(tl.exp(x - safe_peak), axis=0))
    elif FUSED:
        # online log-sum-exp over vocabulary blocks
        top = tl.full((BLOCK_V,), float("-inf"), acc_dtype)
        total = tl.zeros((BLOCK_V,), acc_dtype)
        for start in range(0, n_classes, BLOCK_V):
            x = tl.load(row + start + v, mask=start + v < n_classes, other=float("-inf"))
            x = x.to(acc_dtype)
            new_top = tl.maximum(top, x)
            safe = tl.where(new_top == float("-inf"), 0.0, new_top)
            total = total * tl.exp(top - safe) + tl.exp(x - safe)
            top = new_top
        peak = tl.max(top, axis=0)
        safe_peak = tl.where(peak == float("-inf"), 0.0, peak)
        scale = tl.where(top == float("-inf"), 0.0, tl.exp(top - safe_peak))
        denominator = safe_peak + tl.log(tl.sum(total * scale, axis=0))
    else:
        denominator = tl.zeros((), acc_dtype)
    target = tl.load(TARGETS + b * stride_targets_b + u, mask=u < n_labels - 1, other=0)
    skip = tl.load(row + blank).to(acc_dtype) - denominator
    emit = tl.load(row + target).to(acc_dtype) - denominator
    tl.store(LOG_PROBS + node, skip)
    tl.store(LOG_PROBS + n_nodes + node, emit)
    tl.store(LOG_PROBS + 2 * n_nodes + node, denominator)


@triton.jit
def rnnt_alpha_beta_kernel(
    LOG_PROBS,  # pointer to skip and emit, (2+, B, T, U1), contiguous
    LOGIT_LENGTHS,  # pointer to the frames per sequence, (B,)
    TARGET_LENGTHS,  # pointer to the labels per sequence, (B,)
    ALPHA_BETA,  # pointer to the output, (2, B, T, U1): alpha, beta (-inf outside)
    n_time,
    n_labels,
    n_nodes,
    BLOCK_U: tl.constexpr,
):
    b = tl.program_id(0)
    backward = tl.program_id(1)  # 0: alpha, 1: beta
    n_frames = tl.load(LOGIT_LENGTHS + b).to(tl.int32)
    n_used = tl.load(TARGET_LENGTHS + b).to(tl.int32) + 1
    k = tl.arange(0, BLOCK_U)
    inside = k < n_used
    # beta runs over the flipped row: position k is label u = n_used - 1 - k. Either way
    # position k is reached from k - 1 through emit[t, emit_u] (alpha: u - 1, beta: u).
    u = tl.where(backward == 1, n_used - 1 - k, k)
    emit_u = tl.where(backward == 1, u, u - 1)
    acc_dtype = ALPHA_BETA.dtype.element_ty
    skip_base = LOG_PROBS + b * n_time * n_labels
    emit_base = LOG_PROBS + n_nodes + b * n_time * n_labels
    out = ALPHA_BETA + backward * n_nodes + b * n_time * n_labels
    carried = tl.full((BLOCK_U,), float("-inf"), acc_dtype)
    for i in range(0, n_time):
        t = tl.where(backward == 1, n_time - 1 - i, i)
        active = (k * 0 + t) < n_frames  # a block, like the other masks
        if backward == 1:
            # beta[t, u] = lse(beta[t+1, u] + skip[t, u], beta[t, u+1] + emit[t, u])
            start_after = tl.where(t == n_frames - 1, tl.where(k == 0, 0.0, float("-inf")), carried)
            skip_row = tl.load(skip_base + t * n_labels + u, mask=inside & active, other=0.0)
            start = start_after + skip_row.to(acc_dtype)
        else:
            # alpha[t, u] = lse(alpha[t-1, u] + skip[t-1, u], alpha[t, u-1] + emit[t, u-1])
            skip_row = tl.load(
                skip_base + tl.maximum(t - 1, 0) * n_labels + u, mask=inside & active, other=0.0
            )
            start = tl.where(
                t == 0, tl.where(k == 0, 0.0, float("-inf")), carried + skip_row.to(acc_dtype)
            )
        steps = tl.load(
            emit_base + t * n_labels + emit_u, mask=inside & active & (k >= 1), other=float("-inf")
        )
        start = tl.where(inside, start, float("-inf"))
        row, _ = tl.associative_scan((start, steps.to(acc_dtype)), 0, _compose)
        row = tl.where(inside & active, row, float("-inf"))
        carried = row
        tl.store(out + t * n_labels + u, row, mask=inside)
    # positions past the sequence's labels stay -inf
    for t in range(0, n_time):
        tl.store(out + t * n_labels + k, float("-inf"), mask=(k >= n_used) & (k < n_labels))


@triton.jit
def rnnt_gradient_kernel(
    LOGITS,  # pointer to the joiner output, (B, T, U1, V), last dim contiguous
    TARGETS,  # pointer to the labels, (B, U1 - 1)
    LOGIT_LENGTHS,  # pointer to the frames per sequence, (B,)
    TARGET_LENGTHS,  # pointer to the labels per sequence, (B,)
    LOG_PROBS,  # pointer to skip, emit, log-normaliser, (3, B, T, U1)
    ALPHA_BETA,  # pointer to alpha, beta, (2, B, T, U1)
    GRAD_COSTS,  # pointer to the incoming gradient per sequence, (B,)
    GRAD,  # pointer to the output, (B, T, U1, V), contiguous
    stride_logits_b,
    stride_logits_t,
    stride_logits_u,
    stride_targets_b,
    n_time,
    n_labels,
    n_classes,
    n_nodes,
    blank,
    clamp,
    FUSED: tl.constexpr,
    BLOCK_V: tl.constexpr,
):
    # grad[v] = exp(lp[v] + alpha + beta - log P) (fused only)
    #           - [v = blank] exp(alpha + skip + beta[t+1, u] - log P)   (beta "after" 0 at the end)
    #           - [v = target_u] exp(alpha + emit + beta[t, u+1] - log P)
    node = tl.program_id(0)
    block = tl.program_id(1)
    u = node % n_labels
    t = (node // n_labels) % n_time
    b = node // (n_labels * n_time)
    acc_dtype = ALPHA_BETA.dtype.element_ty
    n_frames = tl.load(LOGIT_LENGTHS + b).to(tl.int32)
    n_used = tl.load(TARGET_LENGTHS + b).to(tl.int32) + 1
    log_p = tl.load(ALPHA_BETA + n_nodes + b * n_time * n_labels)
    inside = (t < n_frames) & (u < n_used) & (log_p > float("-inf")) & (log_p < float("inf"))
    alpha = tl.load(ALPHA_BETA + node)
    beta = tl.load(ALPHA_BETA + n_nodes + node)
    is_final = (t == n_frames - 1) & (u == n_used - 1)
    beta_after_t = tl.load(
        ALPHA_BETA + n_nodes + node + n_labels, mask=t + 1 < n_time, other=float("-inf")
    )
    beta_after_t = tl.where(is_final, 0.0, tl.where(t + 1 < n_frames, beta_after_t, float("-inf")))
    beta_after_u = tl.load(
        ALPHA_BETA + n_nodes + node + 1, mask=u + 1 < n_used, other=float("-inf")
    )
    skip = tl.load(LOG_PROBS + node)
    emit = tl.load(LOG_PROBS + n_nodes + node)
    denominator = tl.load(LOG_PROBS + 2 * n_nodes + node)
    base = alpha - log_p
    to_blank = tl.exp(base + skip + beta_after_t)
    to_target = tl.where(u + 1 < n_used, tl.exp(base + emit + beta_after_u), 0.0)
    target = tl.load(TARGETS + b * stride_targets_b + u, mask=u < n_labels - 1, other=0)
    v = block * BLOCK_V + tl.arange(0, BLOCK_V)
    in_vocab = v < n_classes
    row = LOGITS + b * stride_logits_b + t * stride_logits_t + u * stride_logits_u
    if FUSED:
        x = tl.load(row + v, mask=in_vocab, other=float("-inf")).to(acc_dtype)
        grad = tl.exp(x - denominator + base + beta)
    else:
        grad = tl.zeros((BLOCK_V,), acc_dtype)
    grad = grad - tl.where(v == blank, to_blank, 0.0) - tl.where(v == target, to_target, 0.0)
    if clamp > 0:
        grad = tl.minimum(tl.maximum(grad, -clamp), clamp)
    grad = tl.where(inside, grad, 0.0) * tl.load(GRAD_COSTS + b).to(acc_dtype)
    tl.store(GRAD + node * n_classes + v, grad.to(GRAD.dtype.element_ty), mask=in_vocab)


def _rnnt_sizes(logits):
    batch, n_time, n_labels, n_classes = logits.shape
    n_nodes = batch * n_time * n_labels
    if n_nodes * max(n_classes, 1) >= 2**31:
        raise ValueError("rnnt_loss's Triton kernels index with int32: logits too large")
    return batch, n_time, n_labels, n_classes, n_nodes


def rnnt_forward(logits, targets, logit_lengths, target_lengths, blank, fused, launch=lambda k: k):
    """(log_probs (3, B, T, U1): skip, emit, log-normaliser; alpha_beta (2, B, T, U1)) for
    ``logits`` ``(B, T, U1, V)`` with its last dim contiguous."""
    batch, n_time, n_labels, n_classes, n_nodes = _rnnt_sizes(logits)
    acc_dtype = torch.float64 if logits.dtype == torch.float64 else torch.float32
    log_probs = torch.empty(3, batch, n_time, n_labels, dtype=acc_dtype, device=logits.device)
    alpha_beta = torch.empty(2, batch, n_time, n_labels, dtype=acc_dtype, device=logits.device)
    if n_nodes == 0:
        return log_probs, alpha_beta
    if targets.shape[1] == 0:
        targets = torch.zeros(batch, 1, dtype=targets.dtype, device=targets.device)
    block_v = block_size(n_classes, 1024)
    launch(rnnt_log_probs_kernel)[(n_nodes,)](
        logits,
        targets,
        log_probs,
        logits.stride(0),
        logits.stride(1),
        logits.stride(2),
        targets.stride(0),
        n_time,
        n_labels,
        n_classes,
        n_nodes,
        blank,
        FUSED=fused,
        SINGLE_BLOCK=int(n_classes <= block_v),
        BLOCK_V=block_v,
        num_warps=num_warps(block_v),
    )
    block_u = block_size(n_labels)
    launch(rnnt_alpha_beta_kernel)[(batch, 2)](
        log_probs,
        logit_lengths,
        target_lengths,
        alpha_beta,
        n_time,
        n_labels,
        n_nodes,
        BLOCK_U=block_u,
        num_warps=num_warps(block_u),
    )
    return log_probs, alpha_beta


def rnnt_gradient(logits, targets, logit_lengths, target_lengths, log_probs, alpha_beta,
                  grad_costs, blank, clamp, fused, launch=lambda k: k):  # fmt: skip
    """d (sum_b grad_costs[b] * cost_b) / d logits, ``(B, T, U1, V)`` in logits' dtype."""
    batch, n_time, n_labels, n_classes, n_nodes = _rnnt_sizes(logits)
    grad = torch.empty(batch, n_time, n_labels, n_classes, dtype=logits.dtype, device=logits.device)
    if grad.numel() == 0:
        return grad
    if targets.shape[1] == 0:
        targets = torch.zeros(batch, 1, dtype=targets.dtype, device=targets.device)
    block_v = block_size(n_classes, 1024)
    launch(rnnt_gradient_kernel)[(n_nodes, triton.cdiv(n_classes, block_v))](
        logits,
        targets,
        logit_lengths,
        target_lengths,
        log_probs,
        alpha_beta,
        grad_costs,
        grad,
        logits.stride(0),
        logits.stride(1),
        logits.stride(2),
        targets.stride(0),
        n_time,
        n_labels,
        n_classes,
        n_nodes,
        blank,
        clamp,
        FUSED=fused,
        BLOCK_V=block_v,
        num_warps=num_warps(block_v),
    )
    return grad


# The tensor arguments each kernel writes (everything else it only reads); the
# performance model (benchmarks/model) checks every launch against it.
WRITES = {
    "forced_align_kernel": ("SCRATCH", "BACK", "STATES"),
    "rnnt_log_probs_kernel": ("LOG_PROBS",),
    "rnnt_alpha_beta_kernel": ("ALPHA_BETA",),
    "rnnt_gradient_kernel": ("GRAD",),
}
