"""Launch settings shared by every kernel: one small helper, no autotuning."""

import triton

MAX_BLOCK = 4096


def block_size(n, max_block=MAX_BLOCK):
    """A power-of-two block covering ``n`` elements, at least 16 and at most ``max_block``."""
    return min(max(triton.next_power_of_2(n), 16), max_block)


def num_warps(block):
    """Warps for a 1-D block: one warp per 256 elements, between 1 and 16."""
    return min(max(block // 256, 1), 16)
