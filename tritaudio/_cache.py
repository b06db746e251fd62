"""Constant tables (windows padded to n_fft, normalised filterbanks, DFT bases, filterbank
bin ranges, inverse-STFT window envelopes) built once per key and kept on their device, so
that a call on the Triton path launches only its useful kernels.

A key holds the tensors a table is built from (by identity, checked against their version
counters, so an in-place edit of a module's window or filterbank rebuilds it) and plain
parameters. Nothing is cached while tracing (torch.compile, export, fake tensors), for
tensors that require grad, or across inference mode (its tensors cannot be saved for
backward elsewhere): the table is then simply built.
"""

import weakref
from collections import OrderedDict

import torch

MAX_TABLES = 256  # least recently used tables beyond this are dropped

_tables = OrderedDict()


def _cacheable(tensors):
    if torch.is_inference_mode_enabled():
        return False
    for tensor in tensors:
        if type(tensor) not in (torch.Tensor, torch.nn.Parameter) or tensor.requires_grad:
            return False
        if tensor.is_inference():
            return False
    return True


def cached_table(name, tensors, params, build):
    """``build()``, or the table built for the same ``name``, the same (unmodified)
    ``tensors`` and equal ``params`` (hashable) before."""
    tensors = tuple(tensors)
    if torch.compiler.is_compiling() or not _cacheable(tensors):  # compiling first: Dynamo
        return build()  # cannot trace the inference-mode checks
    key = (name, tuple(id(tensor) for tensor in tensors), params)
    versions = tuple(tensor._version for tensor in tensors)
    entry = _tables.get(key)
    if entry is not None:
        refs, built_versions, table = entry
        if built_versions == versions and all(
            ref() is tensor for ref, tensor in zip(refs, tensors, strict=True)
        ):
            _tables.move_to_end(key)
            return table
    table = build()
    # a table dies with any tensor of its key (ids are reused after a tensor is freed); the
    # dict is bound here because module globals are gone when the last tensors die at exit
    drop = lambda _ref, key=key, tables=_tables: tables.pop(key, None)
    _tables[key] = (tuple(weakref.ref(tensor, drop) for tensor in tensors), versions, table)
    while len(_tables) > MAX_TABLES:
        _tables.popitem(last=False)
    return table


def clear():
    """Drop every cached table."""
    _tables.clear()


def cached_tensors():
    """Every tensor the cache holds: what the ops called so far keep between calls (the
    performance model counts them as the ops' state)."""
    tensors = []
    for _refs, _versions, table in _tables.values():
        for item in table if isinstance(table, tuple) else (table,):
            if isinstance(item, torch.Tensor):
                tensors.append(item)
    return tensors
