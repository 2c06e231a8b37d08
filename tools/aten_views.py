"""Aten view, indexing, concatenation and creation ops as webgpu-inductor ops.

Handlers are h(cx, args, kwargs) -> value, `cx` the Translator (emit, tensor, cast, out: torch's
shape and dtype of the result). Result shapes come from torch's fake tensors, so views map to a
reshape/expand of the known result shape wherever the data order allows.
"""
from aten_values import Lazy, Unmappable, _norm_dim, _pos


def identity(cx, a, k):
    return a[0]


def to_copy(cx, a, k):
    return cx.cast(cx.tensor(a[0]), cx.out.dtype)


def view_as_reshape(cx, a, k):
    # every pure view with a known result shape is a reshape of the logical (row-major) order
    x = cx.tensor(a[0])
    return x if x.shape == cx.out.shape else cx.emit("reshape", [x], {"shape": cx.out.shape})


def expand(cx, a, k):
    x = cx.tensor(a[0])
    return x if x.shape == cx.out.shape else cx.emit("expand", [x], {"shape": cx.out.shape})


def permute(cx, a, k):
    return cx.emit("permute", [cx.tensor(a[0])], {"dims": list(a[1])})


def transpose(cx, a, k):
    x = cx.tensor(a[0])
    if len(x.shape) < 2:
        return x
    return cx.emit("transpose", [x], {"dim0": a[1], "dim1": a[2]})


def t(cx, a, k):
    x = cx.tensor(a[0])
    return cx.emit("transpose", [x], {"dim0": 0, "dim1": 1}) if len(x.shape) == 2 else x


def _slice(cx, x, dim, start, end, step=1, base=None):
    size = x.shape[dim]
    start = 0 if start is None else start
    end = None if end is None or end >= size else end
    if step == 1 and end is None and (start == 0 or start <= -size):
        return x  # the whole dim: torch records these for `x[:, :]`
    kw = {"dim": dim, "start": max(start, -size) if start < 0 else min(start, size), "end": end, "step": step}
    if end is not None and end < -size:
        kw["end"] = -size
    return cx.emit("slice", [x], kw, base=base)


def slice_(cx, a, k):
    x = cx.tensor(a[0])
    dim = _norm_dim(_pos(a, 1, k.get("dim", 0)), len(x.shape))
    return _slice(cx, x, dim, _pos(a, 2, k.get("start")), _pos(a, 3, k.get("end")), _pos(a, 4, k.get("step", 1)))


def select(cx, a, k):
    x = cx.tensor(a[0])
    dim = _norm_dim(a[1], len(x.shape))
    i = a[2] + x.shape[dim] if a[2] < 0 else a[2]
    s = _slice(cx, x, dim, i, i + 1, base=cx.base + "_slice")
    return cx.emit("reshape", [s], {"shape": cx.out.shape})


def _split_at(cx, x, dim, sizes):
    outs, at, base = [], 0, cx.base
    for i, n in enumerate(sizes):
        def make(i=i, at=at, n=n):
            return _slice(cx, x, dim, at, at + n, base=f"{base}_{i}")
        outs.append(Lazy(make))
        at += n
    return tuple(outs)


def split(cx, a, k):
    x = cx.tensor(a[0])
    dim = _norm_dim(_pos(a, 2, k.get("dim", 0)), len(x.shape))
    n, size = x.shape[dim], a[1]
    return _split_at(cx, x, dim, [min(size, n - s) for s in range(0, max(n, 1), size)] if size else [0])


def split_with_sizes(cx, a, k):
    x = cx.tensor(a[0])
    return _split_at(cx, x, _norm_dim(_pos(a, 2, k.get("dim", 0)), len(x.shape)), list(a[1]))


def unbind(cx, a, k):
    x = cx.tensor(a[0])
    dim = _norm_dim(_pos(a, 1, k.get("dim", 0)), len(x.shape))
    shape, base = x.shape[:dim] + x.shape[dim + 1:], cx.base

    def one(i):
        return lambda: cx.emit(
            "reshape", [_slice(cx, x, dim, i, i + 1, base=f"{base}_{i}_slice")], {"shape": shape},
            base=f"{base}_{i}")
    return tuple(Lazy(one(i)) for i in range(x.shape[dim]))


def cat(cx, a, k):
    dt = cx.out.dtype
    parts = [cx.cast(cx.tensor(v), dt) for v in a[0]]
    # torch still accepts legacy empty 1-d tensors in cat; they contribute nothing
    parts = [p for p in parts if not (len(p.shape) == 1 and p.shape[0] == 0)] or parts[:1]
    if len(parts) == 1:
        return parts[0]
    return cx.emit("cat", parts, {"dim": _pos(a, 1, k.get("dim", 0))})


def stack(cx, a, k):
    dim = _norm_dim(_pos(a, 1, k.get("dim", 0)), len(cx.out.shape))
    parts = [cx.emit("unsqueeze", [cx.cast(cx.tensor(v), cx.out.dtype)], {"dim": dim},
                     base=f"{cx.base}_u{i}") for i, v in enumerate(a[0])]
    return parts[0] if len(parts) == 1 else cx.emit("cat", parts, {"dim": dim})


def repeat(cx, a, k):
    """x.repeat(r): view x as [1, s0, 1, s1, …], expand to [r0, s0, r1, s1, …], flatten pairs."""
    x, reps = cx.tensor(a[0]), list(a[1])
    shape = [1] * (len(reps) - len(x.shape)) + x.shape
    inter = [v for s in shape for v in (1, s)]
    big = [v for r, s in zip(reps, shape) for v in (r, s)]
    y = cx.emit("reshape", [x], {"shape": inter}, base=cx.base + "_pairs")
    y = cx.emit("expand", [y], {"shape": big}, base=cx.base + "_expand")
    return cx.emit("reshape", [y], {"shape": cx.out.shape})


def repeat_interleave(cx, a, k):
    """x.repeat_interleave(r, dim): unsqueeze after dim, expand it to r, merge the two."""
    x, r = cx.tensor(a[0]), a[1]
    if not isinstance(r, int):
        raise Unmappable("repeats must be an int known at export time")
    dim = _pos(a, 2, k.get("dim"))
    if dim is None:
        x, dim = cx.emit("reshape", [x], {"shape": [-1]}, base=cx.base + "_flat"), 0
    dim = _norm_dim(dim, len(x.shape))
    y = cx.emit("unsqueeze", [x], {"dim": dim + 1}, base=cx.base + "_u")
    shape = x.shape[:dim + 1] + [r] + x.shape[dim + 1:]
    y = cx.emit("expand", [y], {"shape": shape}, base=cx.base + "_expand")
    return cx.emit("reshape", [y], {"shape": cx.out.shape})


# -- creation from a shape (values never depend on the input's data)


def full_like(value):
    def h(cx, a, k):
        v = value if value is not None else _pos(a, 1, k.get("fill_value"))
        return cx.emit("full", [], {"shape": cx.out.shape, "value": cx.scalar(v), "dtype": cx.out.dtype})
    return h


def new_full(value):
    def h(cx, a, k):
        v = value if value is not None else _pos(a, 2, k.get("fill_value"))
        return cx.emit("full", [], {"shape": cx.out.shape, "value": cx.scalar(v), "dtype": cx.out.dtype})
    return h


def copy(cx, a, k):
    # functional copy (from functionalize): src broadcast to self's shape, in self's dtype
    src = cx.cast(cx.tensor(a[1]), cx.out.dtype)
    if src.shape == cx.out.shape:
        return src
    return cx.emit("expand", [src], {"shape": cx.out.shape})
