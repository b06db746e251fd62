"""Plain-torch alignment ops: CTC forced alignment (Viterbi) and the RNN-T loss.

torchaudio implements both in C++; these follow the published recurrences (and
torchaudio's tie-breaking and gradient formulas) in torch, looping over time and
vectorised over the batch and the label states. CPU fallback and the tests' oracle.
"""

import torch

NEG_INF = float("-inf")


def compute_dtype(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


def ctc_states(targets, target_lengths, blank):
    """Extended CTC labels ``(B, 2L + 1)`` (blank, t1, blank, t2, ..., blank), the number of
    states per sequence, and where the skip transition s-2 -> s is allowed."""
    batch, max_len = targets.shape
    n_states = 2 * max_len + 1
    labels = torch.full((batch, n_states), blank, dtype=torch.int64, device=targets.device)
    labels[:, 1::2] = targets.to(torch.int64)
    skip = torch.zeros(batch, n_states, dtype=torch.bool, device=targets.device)
    if max_len > 1:
        skip[:, 3::2] = targets[:, 1:] != targets[:, :-1]
    return labels, 2 * target_lengths.to(torch.int64) + 1, skip


def forced_align(log_probs, targets, input_lengths, target_lengths, blank):
    """Viterbi CTC alignment of each sequence of a batch.

    Ties as torchaudio's C++: the skip (s-2) wins only when strictly best, then s-1 when
    strictly above s; the last state over the last-but-one only when strictly above.

    Returns:
        (paths ``(B, T)`` in targets' dtype, blank past ``input_lengths``; scores ``(B, T)``:
        ``log_probs`` at the path, 0 past ``input_lengths``).
    """
    batch, n_time, _ = log_probs.shape
    dtype = compute_dtype(log_probs.dtype)
    device = log_probs.device
    labels, n_states, skip = ctc_states(targets, target_lengths, blank)
    width = labels.shape[1]
    state = torch.arange(width, device=device)
    valid = state[None, :] < n_states[:, None]
    lengths = input_lengths.to(torch.int64)
    rows = torch.arange(batch, device=device)

    def emissions(t):
        return log_probs[:, t].to(dtype).gather(1, labels)

    alpha = torch.full((batch, width), NEG_INF, dtype=dtype, device=device)
    first = emissions(0) if n_time > 0 else alpha
    alpha[:, :2] = first[:, :2]
    alpha = alpha.masked_fill(~valid, NEG_INF)
    back = torch.zeros(batch, max(n_time, 1), width, dtype=torch.int8, device=device)
    final = torch.zeros(batch, dtype=torch.int64, device=device)
    for t in range(n_time):
        if t > 0:
            stay = alpha
            step = torch.nn.functional.pad(alpha, (1, 0), value=NEG_INF)[:, :-1]
            jump = torch.nn.functional.pad(alpha, (2, 0), value=NEG_INF)[:, :-2]
            jump = jump.masked_fill(~skip, NEG_INF)
            take_jump = (jump > step) & (jump > stay)
            take_step = ~take_jump & (step > stay)
            choice = torch.where(take_jump, 2, torch.where(take_step, 1, 0))
            best = torch.where(take_jump, jump, torch.where(take_step, step, stay))
            updated = (best + emissions(t)).masked_fill(~valid, NEG_INF)
            active = (t < lengths)[:, None]
            alpha = torch.where(active, updated, alpha)
            back[:, t] = torch.where(active, choice, 0).to(torch.int8)
        ends = t == lengths - 1
        if ends.any():
            last = alpha.gather(1, (n_states - 1)[:, None])[:, 0]
            before = alpha.gather(1, (n_states - 2).clamp(min=0)[:, None])[:, 0]
            pick = torch.where((last > before) | (n_states == 1), n_states - 1, n_states - 2)
            final = torch.where(ends, pick, final)
    path_states = torch.zeros(batch, n_time, dtype=torch.int64, device=device)
    current = final
    for t in range(n_time - 1, -1, -1):
        inside = t < lengths
        path_states[:, t] = torch.where(inside, current, 0)
        step_back = back[rows, t, current].to(torch.int64)
        current = torch.where(inside, current - step_back, current)
    paths = labels.gather(1, path_states)
    inside = torch.arange(n_time, device=device)[None, :] < lengths[:, None]
    paths = torch.where(inside, paths, blank)
    scores = log_probs.gather(2, paths[..., None])[..., 0]
    scores = torch.where(inside, scores, 0)
    return paths.to(targets.dtype), scores


def _lse(x, y):
    top = torch.maximum(x, y)
    safe = torch.where(top == NEG_INF, 0.0, top)
    return safe + torch.log(torch.exp(x - safe) + torch.exp(y - safe))


def rnnt_log_probs(logits, targets, blank, fused_log_softmax):
    """(skip, emit, log-normaliser) over the lattice, each ``(B, T, U + 1)``: the blank's and
    the next target's log-probabilities (emit at the last ``u`` is unused)."""
    x = logits.to(compute_dtype(logits.dtype))
    if fused_log_softmax:
        denominator = torch.logsumexp(x, dim=-1)
    else:
        denominator = torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
    skip = x[..., blank] - denominator
    next_target = torch.nn.functional.pad(targets.to(torch.int64), (0, 1), value=blank)
    index = next_target[:, None, :, None].expand(-1, x.shape[1], -1, 1)
    emit = x.gather(-1, index)[..., 0] - denominator
    return skip, emit, denominator


def rnnt_alpha_beta(skip, emit, logit_lengths, target_lengths):
    """Forward and backward variables of the RNN-T lattice, ``(B, T, U + 1)`` each
    (-inf outside each sequence's ``T_b x (U_b + 1)``), and ``log P`` per sequence.

    alpha[t, u] = lse(alpha[t-1, u] + skip[t-1, u], alpha[t, u-1] + emit[t, u-1]);
    beta[t, u] = lse(beta[t+1, u] + skip[t, u], beta[t, u+1] + emit[t, u]),
    beta[T-1, U-1] = skip[T-1, U-1]. Along u each row is a first-order recurrence,
    solved with a log-cumulative-sum: x_u = E_u + logcumsumexp(a - E)_u, E = cumsum(e).
    """
    batch, n_time, n_labels = skip.shape
    device = skip.device
    t_len = logit_lengths.to(torch.int64)
    u_len = target_lengths.to(torch.int64) + 1
    u_index = torch.arange(n_labels, device=device)
    inside_u = u_index[None, :] < u_len[:, None]
    alpha = torch.full_like(skip, NEG_INF)
    beta = torch.full_like(skip, NEG_INF)

    def row_scan(start, steps):
        # x_u = lse(start_u, x_{u-1} + steps_{u-1}), x_{-1} = -inf
        cumulative = torch.nn.functional.pad(steps[:, :-1].cumsum(-1), (1, 0))
        finite = torch.where(cumulative.isfinite(), cumulative, 0.0)
        return torch.logcumsumexp(start - finite, dim=-1) + finite

    emit_masked = torch.where(inside_u[:, None, :], emit, NEG_INF)
    previous = torch.full((batch, n_labels), NEG_INF, dtype=skip.dtype, device=device)
    for t in range(n_time):
        if t == 0:
            start = (
                torch.where(u_index[None, :] == 0, 0.0, NEG_INF).to(skip.dtype).expand(batch, -1)
            )
        else:
            start = previous + skip[:, t - 1]
        row = row_scan(start, emit_masked[:, t]).masked_fill(~inside_u, NEG_INF)
        row = torch.where((t < t_len)[:, None], row, NEG_INF)
        alpha[:, t] = row
        previous = row
    # beta runs backwards in t and u: the same scan on the flipped rows of each sequence.
    flip = (u_len[:, None] - 1 - u_index[None, :]).clamp(min=0)
    following = torch.full((batch, n_labels), NEG_INF, dtype=skip.dtype, device=device)
    for t in range(n_time - 1, -1, -1):
        last = (t == t_len - 1)[:, None]
        after = torch.where(
            last, torch.where(u_index == u_len[:, None] - 1, 0.0, NEG_INF), following
        )
        start = (after + skip[:, t]).gather(1, flip)
        steps = emit_masked[:, t].gather(1, (flip - 1).clamp(min=0))
        row = row_scan(start.masked_fill(~inside_u, NEG_INF), steps).gather(1, flip)
        row = row.masked_fill(~inside_u, NEG_INF)
        row = torch.where((t < t_len)[:, None], row, NEG_INF)
        beta[:, t] = row
        following = row
    return alpha, beta, beta[:, 0, 0]


def rnnt_gradient(logits, targets, logit_lengths, target_lengths, blank, clamp,
                  fused_log_softmax, skip, emit, denominator, alpha, beta, log_p):  # fmt: skip
    """d cost_b / d logits, ``(B, T, U + 1, V)``, as torchaudio's: from the occupancies
    alpha + beta - log P; clamped to [-clamp, clamp] when clamp > 0; 0 outside each
    sequence's lattice and where its cost is not finite."""
    _batch, n_time, n_labels, _ = logits.shape
    device = logits.device
    x = logits.to(alpha.dtype)
    t_index = torch.arange(n_time, device=device)[None, :, None]
    u_index = torch.arange(n_labels, device=device)[None, None, :]
    t_len = logit_lengths.to(torch.int64)[:, None, None]
    u_len = target_lengths.to(torch.int64)[:, None, None] + 1
    inside = (t_index < t_len) & (u_index < u_len) & log_p.isfinite()[:, None, None]
    base = alpha - log_p[:, None, None]
    beta_next_t = torch.nn.functional.pad(beta[:, 1:], (0, 0, 0, 1), value=NEG_INF)
    final = (t_index == t_len - 1) & (u_index == u_len - 1)
    beta_next_t = torch.where(final, 0.0, beta_next_t)
    beta_next_u = torch.nn.functional.pad(beta[:, :, 1:], (0, 1), value=NEG_INF)
    to_blank = torch.exp(base + skip + beta_next_t)
    to_target = torch.exp(base + emit + beta_next_u).masked_fill(u_index >= u_len - 1, 0.0)
    if fused_log_softmax:
        grad = torch.exp(x - denominator[..., None] + (base + beta)[..., None])
    else:
        grad = torch.zeros_like(x)
    grad[..., blank] -= to_blank
    next_target = torch.nn.functional.pad(targets.to(torch.int64), (0, 1), value=blank)
    index = next_target[:, None, :, None].expand(-1, n_time, -1, 1)
    grad.scatter_add_(-1, index, -to_target[..., None])
    if clamp > 0:
        grad = grad.clamp(-clamp, clamp)
    return torch.where(inside[..., None], grad, 0.0)


def rnnt_loss(logits, targets, logit_lengths, target_lengths, blank, clamp, fused_log_softmax):
    """Per-sequence RNN-T costs ``-log P`` ``(B,)`` with torchaudio's gradient (an autograd
    Function: the gradient is computed from alpha and beta in the backward pass)."""
    return _RnntLoss.apply(
        logits, targets, logit_lengths, target_lengths, blank, clamp, fused_log_softmax
    )


class _RnntLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, targets, logit_lengths, target_lengths, blank, clamp, fused):
        skip, emit, denominator = rnnt_log_probs(logits, targets, blank, fused)
        alpha, beta, log_p = rnnt_alpha_beta(skip, emit, logit_lengths, target_lengths)
        ctx.save_for_backward(
            logits, targets, logit_lengths, target_lengths, skip, emit, denominator, alpha,
            beta, log_p,
        )  # fmt: skip
        ctx.options = (blank, clamp, fused)
        return (-log_p).to(logits.dtype)

    @staticmethod
    def backward(ctx, grad_costs):
        logits, targets, logit_lengths, target_lengths, *saved = ctx.saved_tensors
        blank, clamp, fused = ctx.options
        grad = rnnt_gradient(
            logits, targets, logit_lengths, target_lengths, blank, clamp, fused, *saved
        )
        grad = grad * grad_costs.to(grad.dtype)[:, None, None, None]
        return grad.to(logits.dtype), None, None, None, None, None, None
