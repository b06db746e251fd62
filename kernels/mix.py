"""Elementwise mixing kernels: a gain applied to every row of a signal."""

import torch
import triton
import triton.language as tl

from .launch import block_size, num_warps


@triton.jit
def scale_rows_kernel(
    X,  # pointer to the input, (rows, time), last dim contiguous
    FACTOR,  # pointer to the scalar factor, in the compute dtype
    Y,  # pointer to the output, (rows, time), contiguous
    stride_x_row,
    n_time,
    blocks_per_row,
    BLOCK: tl.constexpr,
):
    # y = factor * x; one program per BLOCK samples of one row. The grid is 1-D so that
    # neither the row count nor the length runs into the 65535 limit of grid dims 1 and 2.
    pid = tl.program_id(0).to(tl.int64)
    row = pid // blocks_per_row
    cols = (pid % blocks_per_row) * BLOCK + tl.arange(0, BLOCK)
    mask = cols < n_time
    factor = tl.load(FACTOR)
    x = tl.load(X + row * stride_x_row + cols, mask=mask, other=0.0)
    y = x.to(factor.dtype) * factor
    tl.store(Y + row * n_time + cols, y.to(Y.dtype.element_ty), mask=mask)


def scale_rows(x, factor, launch=lambda kernel: kernel):
    """``factor * x`` for a 2-D ``x`` whose last dim is contiguous; returns a new tensor.

    Computed in float32 (float64 for float64 input). ``launch`` wraps the kernel before
    its grid is applied (``torch.library.wrap_triton`` inside a ``triton_op``).
    """
    rows, n_time = x.shape
    y = torch.empty((rows, n_time), dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y
    compute_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    factor_tensor = torch.tensor(factor, dtype=compute_dtype, device=x.device)
    block = block_size(n_time)
    blocks_per_row = triton.cdiv(n_time, block)
    launch(scale_rows_kernel)[(rows * blocks_per_row,)](
        x,
        factor_tensor,
        y,
        x.stride(0),
        n_time,
        blocks_per_row,
        BLOCK=block,
        num_warps=num_warps(block),
    )
    return y
