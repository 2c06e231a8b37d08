"""Values of the aten -> webgpu-inductor translation (tools/export_torch.py) and the helpers the
op handlers share.

Handlers receive the fx node's arguments already translated: `Ref` (a node of our graph),
`Const` (a real torch tensor: a buffer or a folded constant), `Missing` (a value we could not
map), Python scalars and lists. They return a `Ref`, a tuple of values (multi-output ops) or a
`Lazy` (an element of a multi-output op, emitted only when something reads it).
"""
import math

import torch

# torch dtype -> (our dtype, note when the mapping changes the type)
DTYPES = {
    torch.float32: ("f32", None),
    torch.float16: ("f16", None),
    torch.bfloat16: ("f32", "bfloat16 is computed as f32"),
    torch.float64: ("f32", "float64 is computed as f32"),
    torch.int64: ("i32", "int64 is carried as i32 (values range-checked where known)"),
    torch.int32: ("i32", None),
    torch.int16: ("i32", "int16 is carried as i32"),
    torch.int8: ("i32", "int8 is carried as i32"),
    torch.uint8: ("i32", "uint8 is carried as i32"),
    torch.bool: ("bool", None),
}
FLOAT = ("f32", "f16")
I32_MIN, I32_MAX = -(2**31), 2**31 - 1


class ExportError(Exception):
    """The module cannot be exported; the message lists every reason."""


class Unmappable(Exception):
    """Raised by a handler: this node cannot be expressed in our op set (the reason says why)."""


class Ref:
    """A node of the graph being built."""

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, list(shape), dtype

    def json(self):
        return {"node": self.name}


class Const:
    """A real tensor known at export time: a buffer (`fqn` set) or a folded constant."""

    def __init__(self, value, fqn=None):
        self.value, self.fqn = value, fqn


class Missing:
    """The result of an op we could not map; anything computed from it is skipped silently
    (the op itself is reported once)."""


class Lazy:
    """One output of a multi-output op, emitted on first use."""

    def __init__(self, make):
        self.make, self.done = make, None

    def get(self):
        if self.done is None:
            self.done = self.make()
        return self.done


def our_dtype(dt):
    if dt not in DTYPES:
        raise Unmappable(f"dtype {dt} has no equivalent (supported: float32/16, bfloat16, int, bool)")
    return DTYPES[dt][0]


def _pos(args, i, default=None):
    return args[i] if len(args) > i else default


def _norm_dim(d, nd):
    return d + nd if d < 0 else d


def _dims(dim, nd):
    """A reduction's dim argument as a list (None or [] = all dims, as torch reads them)."""
    if dim is None or dim == []:
        return None
    return [_norm_dim(d, nd) for d in ([dim] if isinstance(dim, int) else dim)]


def finite_or_special(v):
    """A float for the graph JSON: inf, -inf, nan and -0 as {"float": …} (our JSON format)."""
    if isinstance(v, float):
        if math.isnan(v):
            return {"float": "nan"}
        if math.isinf(v):
            return {"float": "inf" if v > 0 else "-inf"}
        if v == 0 and math.copysign(1, v) < 0:
            return {"float": "-0"}
    return v
