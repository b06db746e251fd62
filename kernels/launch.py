"""Launch settings shared by every kernel (no autotuning), and the spin-wait of the kernels
whose programs wait on each other."""

import functools

import torch
import triton
import triton.language as tl

MAX_BLOCK = 4096


def block_size(n, max_block=MAX_BLOCK):
    """A power-of-two block covering ``n`` elements, at least 16 and at most ``max_block``."""
    return min(max(triton.next_power_of_2(n), 16), max_block)


def num_warps(block):
    """Warps for a 1-D block: one warp per 256 elements, between 1 and 16."""
    return min(max(block // 256, 1), 16)


DEFAULT_SM_COUNT = 132  # an H100 / H200: the grid target where no GPU is there to ask


@functools.cache
def sm_count(device):
    """Streaming multiprocessors of ``device`` (132 for a CPU tensor under the interpreter)."""
    device = torch.device(device)
    if device.type != "cuda":
        return DEFAULT_SM_COUNT
    return torch.cuda.get_device_properties(device).multi_processor_count


def row_blocks(rows, n_time, device, max_block=MAX_BLOCK, min_block=256, waves=4):
    """(BLOCK, blocks_per_row, grid) for a 1-D grid over ``rows x n_time`` in blocks of one
    row: the largest block up to ``max_block`` that still gives ``waves`` programs per SM
    (small batches get smaller blocks, down to ``min_block``)."""
    block = block_size(n_time, max_block)
    target = waves * sm_count(device)
    while block > min_block and rows * triton.cdiv(n_time, block) < target:
        block //= 2
    blocks_per_row = triton.cdiv(n_time, block)
    return block, blocks_per_row, (rows * blocks_per_row,)


@triton.jit
def wait_at_least(counter, target):
    """Spin until the int32 at ``counter`` reaches ``target``; returns its value. Acquire:
    what the programs that raised it stored before their release is visible after it.
    Only for waits on programs already running (a ticket taken at their start orders
    them), so that a waiting program never holds the place of the one it waits for."""
    value = tl.atomic_add(counter, 0, sem="acquire")
    while value < target:
        value = tl.atomic_add(counter, 0, sem="acquire")
    return value
