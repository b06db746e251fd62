"""Alignment family: forced_align (CTC Viterbi), merge_tokens, rnnt_loss / RNNTLoss, on
both backends. torchaudio runs these in C++ (absent here): the oracles are exhaustive
enumeration of the lattice paths in float64, hand-checked cases, and torchaudio's published
RNN-T test values."""

import itertools
import math

import pytest
import torch
from helpers import assert_close_to_reference

import tritaudio
import tritaudio.functional as F
import tritaudio.transforms as T


def _ctc_labels(targets, blank):
    labels = [blank]
    for label in targets:
        labels += [label, blank]
    return labels


def brute_force_alignment(log_probs, targets, blank):
    """The best CTC path by enumerating every state sequence (tiny sizes only)."""
    n_time = log_probs.shape[0]
    labels = _ctc_labels(targets, blank)
    n_states = len(labels)
    best_score, best_path = -math.inf, None
    for states in itertools.product(range(n_states), repeat=n_time):
        if states[0] > 1 or states[-1] < n_states - 2:
            continue
        ok = True
        for a, b in itertools.pairwise(states):
            step = b - a
            if step not in (0, 1, 2) or (step == 2 and (b % 2 == 0 or labels[b] == labels[a])):
                ok = False
                break
        if ok:
            score = sum(log_probs[t, labels[s]].item() for t, s in enumerate(states))
            if score > best_score:
                best_score, best_path = score, [labels[s] for s in states]
    return best_score, best_path


@pytest.mark.parametrize("seed", range(6))
def test_forced_align_is_the_best_path(backend, seed):
    gen = torch.Generator().manual_seed(seed)
    n_time, n_classes = 6, 4
    length = 1 + seed % 3
    targets = torch.randint(1, n_classes, (1, length), generator=gen)
    if seed == 5:
        targets[0, 1] = targets[0, 0]  # a repeat: needs a blank between
    log_probs = torch.randn(1, n_time, n_classes, generator=gen, dtype=torch.float64)
    log_probs = log_probs.log_softmax(-1)
    paths, scores = F.forced_align(log_probs, targets)
    best_score, best_path = brute_force_alignment(log_probs[0], targets[0].tolist(), 0)
    assert paths[0].tolist() == best_path
    assert abs(scores.sum().item() - best_score) < 1e-12
    assert paths.dtype == targets.dtype and scores.dtype == log_probs.dtype


def test_forced_align_ties_as_torchaudio(backend):
    # All emissions equal: every path ties, and torchaudio's C++ rules pick this one
    # (worked by hand: stay unless s-1 / s-2 is strictly better; end on the last label).
    log_probs = torch.zeros(1, 3, 3)
    paths, scores = F.forced_align(log_probs, torch.tensor([[1, 2]], dtype=torch.int32))
    assert paths.tolist() == [[1, 2, 2]] and paths.dtype == torch.int32
    assert torch.equal(scores, torch.zeros(1, 3))


def test_forced_align_tight_and_empty_targets(backend):
    log_probs = torch.randn(1, 3, 4).log_softmax(-1)
    # T == L + repeats: no room for an optional blank
    paths, _ = F.forced_align(log_probs, torch.tensor([[2, 2]]))
    assert paths.tolist() == [[2, 0, 2]]
    paths, _ = F.forced_align(log_probs, torch.zeros(1, 0, dtype=torch.int64))
    assert paths.tolist() == [[0, 0, 0]]


def test_forced_align_batch_is_stacked_singles(backend):
    gen = torch.Generator().manual_seed(7)
    batch, n_time, n_classes, max_len = 4, 20, 7, 6
    log_probs = torch.randn(batch, n_time, n_classes, generator=gen).log_softmax(-1)
    targets = torch.randint(1, n_classes, (batch, max_len), generator=gen)
    input_lengths = torch.tensor([20, 13, 17, 9])
    target_lengths = torch.tensor([6, 4, 0, 3])
    paths, scores = F.forced_align(log_probs, targets, input_lengths, target_lengths)
    for b in range(batch):
        n, length = input_lengths[b].item(), target_lengths[b].item()
        single, single_scores = F.forced_align(
            log_probs[b : b + 1, :n], targets[b : b + 1, :length]
        )
        assert torch.equal(paths[b, :n], single[0]), b
        assert torch.equal(scores[b, :n], single_scores[0]), b
        assert (paths[b, n:] == 0).all() and (scores[b, n:] == 0).all()


def test_forced_align_triton_equals_torch_float32():
    gen = torch.Generator().manual_seed(8)
    log_probs = torch.randn(3, 40, 12, generator=gen).log_softmax(-1)
    log_probs = log_probs.transpose(0, 1).contiguous().transpose(0, 1)  # non-contiguous batch
    targets = torch.randint(1, 12, (3, 15), generator=gen)
    lengths = (torch.tensor([40, 31, 36]), torch.tensor([15, 9, 12]))
    with tritaudio.use_backend("torch"):
        expected = F.forced_align(log_probs, targets, *lengths)
    with tritaudio.use_backend("triton"):
        out = F.forced_align(log_probs, targets, *lengths)
    assert torch.equal(out[0], expected[0]) and torch.equal(out[1], expected[1])


def test_forced_align_bad_input():
    log_probs = torch.randn(1, 5, 4).log_softmax(-1)
    with pytest.raises(ValueError, match="blank"):
        F.forced_align(log_probs, torch.tensor([[1, 0]]))
    with pytest.raises(ValueError, match="targets must be in"):
        F.forced_align(log_probs, torch.tensor([[1, 4]]))
    with pytest.raises(ValueError, match="too long"):
        F.forced_align(log_probs, torch.tensor([[1, 1, 1, 2]]))  # needs 4 + 2 frames
    with pytest.raises(ValueError, match="log_probs"):
        F.forced_align(log_probs[0], torch.tensor([[1]]))
    with pytest.raises(TypeError, match="targets"):
        F.forced_align(log_probs, torch.tensor([[1.0]]))
    with pytest.raises(ValueError, match="input_lengths"):
        F.forced_align(log_probs, torch.tensor([[1]]), torch.tensor([6]))
    with pytest.raises(ValueError, match="blank"):
        F.forced_align(log_probs, torch.tensor([[1]]), blank=4)
    with pytest.raises(ValueError, match="targets must be on"):
        F.forced_align(log_probs, torch.tensor([[1]], device="meta"))


def test_merge_tokens():
    tokens = torch.tensor([0, 3, 3, 0, 0, 2, 2, 2, 3, 0])
    scores = torch.arange(10, dtype=torch.float32)
    spans = F.merge_tokens(tokens, scores)
    assert [(s.token, s.start, s.end) for s in spans] == [(3, 1, 3), (2, 5, 8), (3, 8, 9)]
    assert [s.score for s in spans] == [1.5, 6.0, 8.0]
    assert len(spans[1]) == 3 and isinstance(spans[0], F.TokenSpan)
    assert F.merge_tokens(torch.zeros(0, dtype=torch.int64), torch.zeros(0)) == []
    with pytest.raises(ValueError, match="same length"):
        F.merge_tokens(tokens, scores[:-1])
    with pytest.raises(ValueError, match="tokens"):
        F.merge_tokens(tokens[None], scores[None])


# --- RNN-T ------------------------------------------------------------------------------


def brute_force_rnnt(logits, targets, blank, fused=True):
    """-log P by summing over every lattice path (tiny sizes only), float64."""
    log_probs = logits.log_softmax(-1) if fused else logits
    n_time, n_labels, _ = log_probs.shape
    scores = []
    for emit_frames in itertools.combinations_with_replacement(range(n_time), n_labels - 1):
        score, u = 0.0, 0
        for t in range(n_time):
            while u < n_labels - 1 and emit_frames[u] == t:
                score += log_probs[t, u, targets[u]].item()
                u += 1
            score += log_probs[t, u, blank].item()
        scores.append(score)
    return -torch.logsumexp(torch.tensor(scores, dtype=torch.float64), 0).item()


# torchaudio's RNN-T test data (test/torchaudio_unittest/.../rnnt_utils.py,
# get_B1_T2_U3_D5_data): logits, cost and gradient it checks its C++ loss against.
TORCHAUDIO_LOGITS = [
    0.1, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1, 0.6, 0.1, 0.1, 0.1, 0.1, 0.2, 0.8, 0.1,
    0.1, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.1, 0.1, 0.7, 0.1, 0.2, 0.1, 0.1,
]  # fmt: skip
TORCHAUDIO_COST = 5.09566688538
TORCHAUDIO_GRADIENT = [
    0.17703132, -0.39992708, 0.17703132, 0.17703132, -0.13116692,
    0.12247062, 0.12247062, -0.181684, 0.12247062, -0.1857276,
    0.06269141, 0.06269141, 0.06928471, 0.12624498, -0.32091248,
    0.05456069, -0.2182428, 0.05456069, 0.05456069, 0.05456069,
    0.12073967, 0.12073967, -0.48295838, 0.12073967, 0.12073967,
    0.30741188, 0.16871123, 0.18645471, 0.16871123, -0.83128875,
]  # fmt: skip


def test_rnnt_loss_torchaudio_test_values(backend):
    logits = torch.tensor(TORCHAUDIO_LOGITS).reshape(1, 2, 3, 5).requires_grad_()
    targets, lengths = (
        torch.tensor([[1, 2]], dtype=torch.int32),
        torch.tensor([2], dtype=torch.int32),
    )
    loss = T.RNNTLoss()(logits, targets, lengths, lengths)
    loss.backward()
    assert abs(loss.item() - TORCHAUDIO_COST) < 1e-5
    expected = torch.tensor(TORCHAUDIO_GRADIENT).reshape(1, 2, 3, 5)
    assert (logits.grad - expected).abs().max() < 1e-6


@pytest.mark.parametrize("fused", [True, False])
def test_rnnt_loss_is_the_lattice_sum(backend, fused):
    gen = torch.Generator().manual_seed(9)
    logits = torch.randn(2, 4, 4, 5, generator=gen, dtype=torch.float64)
    if not fused:
        logits = logits.log_softmax(-1)
    targets = torch.randint(0, 4, (2, 3), generator=gen, dtype=torch.int32)
    lengths = torch.tensor([4, 3], dtype=torch.int32), torch.tensor([3, 2], dtype=torch.int32)
    costs = F.rnnt_loss(
        logits, targets, *lengths, blank=4, reduction="none", fused_log_softmax=fused
    )
    for b in range(2):
        n, u = lengths[0][b].item(), lengths[1][b].item()
        expected = brute_force_rnnt(logits[b, :n, : u + 1], targets[b, :u].tolist(), 4, fused)
        assert abs(costs[b].item() - expected) < 1e-10


@pytest.mark.parametrize("fused", [True, False])
def test_rnnt_loss_gradcheck(backend, fused):
    gen = torch.Generator().manual_seed(10)
    logits = torch.randn(3, 3, 3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(1, 4, (3, 2), generator=gen, dtype=torch.int32)
    lengths = torch.tensor([3, 2, 3], dtype=torch.int32), torch.tensor([2, 1, 0], dtype=torch.int32)

    def loss(x):
        return F.rnnt_loss(x, targets, *lengths, blank=0, reduction="none", fused_log_softmax=fused)

    # fast mode (random projections) under the interpreter: each call runs T scans
    torch.autograd.gradcheck(loss, (logits,), fast_mode=backend == "triton")


def test_rnnt_loss_reductions_clamp_and_padding(backend):
    gen = torch.Generator().manual_seed(11)
    logits = torch.randn(3, 5, 4, 6, generator=gen, requires_grad=True)
    targets = torch.randint(0, 5, (3, 3), generator=gen, dtype=torch.int32)
    lengths = torch.tensor([5, 3, 4], dtype=torch.int32), torch.tensor([3, 1, 2], dtype=torch.int32)
    costs = F.rnnt_loss(logits, targets, *lengths, reduction="none")
    assert costs.shape == (3,) and costs.dtype == torch.float32
    assert torch.allclose(F.rnnt_loss(logits, targets, *lengths), costs.mean())
    assert torch.allclose(F.rnnt_loss(logits, targets, *lengths, reduction="sum"), costs.sum())
    (grad,) = torch.autograd.grad(costs.sum(), logits, retain_graph=True)
    # nothing outside each sequence's lattice
    assert (grad[1, 3:] == 0).all() and (grad[1, :, 2:] == 0).all() and (grad[2, 4:] == 0).all()
    (clamped,) = torch.autograd.grad(
        F.rnnt_loss(logits, targets, *lengths, clamp=0.05, reduction="sum"), logits
    )
    assert torch.allclose(clamped, grad.clamp(-0.05, 0.05))
    (scaled,) = torch.autograd.grad((costs * torch.tensor([1.0, 2.0, -3.0])).sum(), logits)
    assert torch.allclose(scaled, grad * torch.tensor([1.0, 2.0, -3.0])[:, None, None, None])


@pytest.mark.parametrize("n_classes", [37, 1500])  # one vocabulary block, or several
def test_rnnt_loss_triton_equals_torch_float32(n_classes):
    gen = torch.Generator().manual_seed(12)
    logits = 3 * torch.randn(2, 9, 6, n_classes, generator=gen)
    logits = logits.requires_grad_()
    targets = torch.randint(0, n_classes - 1, (2, 5), generator=gen, dtype=torch.int32)
    lengths = torch.tensor([9, 6], dtype=torch.int32), torch.tensor([5, 3], dtype=torch.int32)
    results = {}
    for name, backend, x in (
        ("float64", "torch", logits.detach().double().requires_grad_()),
        ("torch", "torch", logits),
        ("triton", "triton", logits),
    ):
        with tritaudio.use_backend(backend):
            costs = F.rnnt_loss(x, targets, *lengths, reduction="none")
            results[name] = (costs, *torch.autograd.grad(costs.sum(), x))
    reference_costs, reference_grad = results["float64"]
    assert_close_to_reference(results["triton"][0], reference_costs, 1e-6, "costs")
    # The gradient's exponents (alpha + beta - log P) carry float32 rounding of the cost
    # itself (|cost| up to ~140 here): its absolute error is a few ulps of the cost, the
    # order as torch's float32 computation of the same recurrences (measured: up to 2.4x it
    # at V=1500, the scan's partial sums rounding in another order).
    errors = {n: (results[n][1].double() - reference_grad).abs().max() for n in ("torch", "triton")}
    assert errors["triton"] <= 8 * 2**-23 * reference_costs.abs().max()
    assert errors["triton"] <= 3 * errors["torch"] + 1e-6


def test_rnnt_loss_nan_propagates(backend):
    logits = torch.randn(2, 3, 3, 4)
    logits[0, 1, 1, 2] = float("nan")
    targets = torch.tensor([[1, 2], [1, 2]], dtype=torch.int32)
    lengths = torch.tensor([3, 3], dtype=torch.int32), torch.tensor([2, 2], dtype=torch.int32)
    costs = F.rnnt_loss(logits, targets, *lengths, reduction="none")
    assert costs[0].isnan() and costs[1].isfinite()


def test_rnnt_loss_bad_input():
    logits = torch.randn(1, 3, 3, 4)
    args = torch.tensor([[1, 2]], dtype=torch.int32), torch.tensor([3], dtype=torch.int32)
    u = torch.tensor([2], dtype=torch.int32)
    with pytest.raises(ValueError, match="reduction"):
        F.rnnt_loss(logits, *args, u, reduction="max")
    with pytest.raises(ValueError, match="targets"):
        F.rnnt_loss(logits, args[0][:, :1], args[1], u)
    with pytest.raises(ValueError, match="logit_lengths"):
        F.rnnt_loss(logits, args[0], torch.tensor([4], dtype=torch.int32), u)
    with pytest.raises(ValueError, match="target_lengths"):
        F.rnnt_loss(logits, *args, torch.tensor([3], dtype=torch.int32))
    with pytest.raises(ValueError, match="blank"):
        F.rnnt_loss(logits, *args, u, blank=4)
    with pytest.raises(TypeError, match="logits"):
        F.rnnt_loss(logits.long(), *args, u)
    with pytest.raises(TypeError, match="target_lengths"):
        F.rnnt_loss(logits, *args, u.float())
    with pytest.raises(ValueError, match="reduction"):
        T.RNNTLoss(reduction="avg")
    with pytest.raises(ValueError, match="logit_lengths must be on"):
        F.rnnt_loss(logits, args[0], args[1].to("meta"), u)


def test_half_precision_and_empty_batches():
    gen = torch.Generator().manual_seed(13)
    log_probs = torch.randn(2, 8, 5, generator=gen).log_softmax(-1).half()
    logits = torch.randn(2, 4, 3, 5, generator=gen).half()
    no_labels = torch.randn(2, 4, 1, 5, generator=gen, dtype=torch.float64)
    results = {}
    for name in ("torch", "triton"):
        with tritaudio.use_backend(name):
            paths, scores = F.forced_align(log_probs, torch.tensor([[1, 2], [3, 3]]))
            costs = F.rnnt_loss(
                logits, torch.tensor([[1, 2], [2, 3]], dtype=torch.int32),
                torch.tensor([4, 3], dtype=torch.int32), torch.tensor([2, 1], dtype=torch.int32),
                reduction="none",
            )  # fmt: skip
            blank_only = F.rnnt_loss(
                no_labels, torch.zeros(2, 0, dtype=torch.int32),
                torch.tensor([4, 2], dtype=torch.int32), torch.zeros(2, dtype=torch.int32),
                reduction="none",
            )  # fmt: skip
            empty = F.forced_align(torch.zeros(0, 5, 4), torch.zeros(0, 2, dtype=torch.int64))
            results[name] = (paths, scores, costs, blank_only)
            assert empty[0].shape == (0, 5) and empty[1].shape == (0, 5)
    for ours, reference in zip(results["triton"], results["torch"], strict=True):
        assert torch.equal(ours, reference)
    assert results["torch"][1].dtype == torch.float16 and results["torch"][2].dtype == torch.float16
    # no labels: only blanks, one per frame
    expected = -no_labels.log_softmax(-1)[..., 0, -1]  # the default blank: the last class
    assert torch.allclose(
        results["torch"][3], torch.stack([expected[0].sum(), expected[1, :2].sum()])
    )


def test_alignment_op_registration():
    from tritaudio import _ops

    checks = ("test_schema", "test_autograd_registration")
    gen = torch.Generator().manual_seed(14)
    log_probs = torch.randn(2, 6, 4, generator=gen).log_softmax(-1)
    targets, lengths = torch.tensor([[1, 2], [3, 3]]), torch.tensor([6, 5])
    logits = torch.randn(2, 3, 3, 4, generator=gen, requires_grad=True)
    labels = torch.tensor([[1, 2], [2, 1]], dtype=torch.int32)
    frames, counts = (
        torch.tensor([3, 2], dtype=torch.int32),
        torch.tensor([2, 1], dtype=torch.int32),
    )
    for op, args in (
        (_ops.forced_align, (log_probs, targets, lengths, torch.tensor([2, 2]), 0)),
        (_ops.rnnt_loss_forward, (logits, labels, frames, counts, 0, -1.0, 1)),
        (_ops.rnnt_loss_forward, (logits, labels, frames, counts, 0, 0.5, 0)),
    ):
        result = torch.library.opcheck(op, args, test_utils=checks)
        assert set(result.values()) == {"SUCCESS"}
