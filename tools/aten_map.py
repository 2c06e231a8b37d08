"""Aten ops -> webgpu-inductor graph nodes (used by tools/export_torch.py).

Each handler receives the fx node's arguments already translated: `Ref` (a node of our graph),
`Const` (a real torch tensor: a buffer or a folded constant), `Missing` (a value we could not
map), Python scalars and lists. It returns a `Ref`, a tuple of values (multi-output ops) or a
`Lazy` (an element of a multi-output op, emitted only when something reads it). Shapes and
dtypes of results come from torch's fake tensors (`out.shape`, `out.dtype`); handlers only
compose our ops so that the result matches them, and `Translator.finish` adds a cast where our
dtype rules disagree and records torch's meta on the node, which the loader re-checks.
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


# ---------------------------------------------------------------------------------------------
# handlers: h(cx, args, kwargs) -> value. `cx` is the Translator (emit, tensor, cast, out).


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


# -- matmul family


def mm(cx, a, k):
    return cx.emit("matmul", [cx.tensor(a[0]), cx.tensor(a[1])], {})


def bmm(cx, a, k):
    return cx.emit("bmm", [cx.tensor(a[0]), cx.tensor(a[1])], {})


def linear(cx, a, k):
    b = _pos(a, 2, k.get("bias"))
    args = [cx.tensor(a[0]), cx.tensor(a[1])] + ([cx.tensor(b)] if b is not None else [])
    return cx.emit("linear", args, {})


def _scaled_sum(cx, product, bias, beta, alpha):
    """alpha * product + beta * bias (addmm, baddbmm)."""
    if alpha != 1:
        product = cx.emit("mul", [product, alpha], {}, base=cx.base + "_alpha")
    if beta == 0:
        return product
    if beta != 1:
        bias = cx.emit("mul", [cx.tensor(bias), beta], {}, base=cx.base + "_beta")
    return cx.emit("add", [product, cx.num_or_tensor(bias)], {})


def addmm(cx, a, k):
    p = cx.emit("matmul", [cx.tensor(a[1]), cx.tensor(a[2])], {}, base=cx.base + "_mm")
    return _scaled_sum(cx, p, a[0], k.get("beta", 1), k.get("alpha", 1))


def baddbmm(cx, a, k):
    p = cx.emit("bmm", [cx.tensor(a[1]), cx.tensor(a[2])], {}, base=cx.base + "_bmm")
    return _scaled_sum(cx, p, a[0], k.get("beta", 1), k.get("alpha", 1))


# -- pointwise


def unary(name):
    def h(cx, a, k):
        x = cx.tensor(a[0])
        if cx.out.dtype in FLOAT:
            x = cx.cast(x, cx.out.dtype)  # torch's sin(int) etc. compute in float
        return cx.emit(name, [x], {})
    return h


def gelu(cx, a, k):
    return cx.emit("gelu", [cx.tensor(a[0])], {"approximate": k.get("approximate", _pos(a, 1, "none"))})


def binary(name):
    def h(cx, a, k):
        x, y = cx.operands(a[0], a[1], cx.out.dtype)
        alpha = k.get("alpha", _pos(a, 2, 1))
        if alpha != 1 and name in ("add", "sub"):
            y = cx.emit("mul", [y, alpha], {}, base=cx.base + "_alpha")
        return cx.emit(name, [x, y], {})
    return h


def rsub(cx, a, k):
    x, y = cx.operands(a[0], a[1], cx.out.dtype)
    alpha = k.get("alpha", _pos(a, 2, 1))
    if alpha != 1:
        x = cx.emit("mul", [x, alpha], {}, base=cx.base + "_alpha")
    return cx.emit("sub", [y, x], {})


def div_mode(cx, a, k):
    mode = k.get("rounding_mode", _pos(a, 2))
    if mode is None:
        return binary("div")(cx, a[:2], {})
    if mode == "trunc" and cx.out.dtype == "i32":
        return binary("div")(cx, a[:2], {})  # our integer division truncates, as C does
    raise Unmappable(f"div with rounding_mode={mode!r} on {cx.out.dtype} (no floor/trunc op)")


def pow_(cx, a, k):
    base, e = a[0], a[1]
    if isinstance(e, (int, float)) and not isinstance(base, (int, float)):
        x = cx.cast(cx.tensor(base), cx.out.dtype)
        # what inductor does too: small integral powers as products, roots as sqrt
        if e == 1:
            return x
        if e == 2:
            return cx.emit("mul", [x, x], {})
        if e == 0.5:
            return cx.emit("sqrt", [x], {})
        if e == -0.5:
            return cx.emit("rsqrt", [x], {})
        if e == -1:
            return cx.emit("reciprocal", [x], {})
    x, y = cx.operands(base, e, cx.out.dtype)
    return cx.emit("pow", [x, y], {})


def compare(name):
    def h(cx, a, k):
        x, y = cx.operands(a[0], a[1], cx.promoted(a[0], a[1]))
        return cx.emit(name, [x, y], {})
    return h


def ne(cx, a, k):
    x, y = cx.operands(a[0], a[1], cx.promoted(a[0], a[1]))
    e = cx.emit("eq", [x, y], {}, base=cx.base + "_eq")
    return cx.emit("eq", [e, False], {})


def ge_le(strict):
    def h(cx, a, k):
        x, y = cx.operands(a[0], a[1], cx.promoted(a[0], a[1]))
        s = cx.emit(strict, [x, y], {}, base=cx.base + "_" + strict)
        e = cx.emit("eq", [x, y], {}, base=cx.base + "_eq")
        return cx.emit("where", [s, True, e], {})  # NaN compares false both ways, as in torch
    return h


def logical_not(cx, a, k):
    return cx.emit("eq", [cx.as_bool(a[0]), 0], {})


def logical_and(cx, a, k):
    return cx.emit("where", [cx.as_bool(a[0]), cx.as_bool(a[1]), False], {})


def logical_or(cx, a, k):
    return cx.emit("where", [cx.as_bool(a[0]), True, cx.as_bool(a[1])], {})


def where(cx, a, k):
    dt = cx.out.dtype
    x, y = cx.operands(a[1], a[2], dt)
    return cx.emit("where", [cx.as_bool(a[0]), x, y], {})


def masked_fill(cx, a, k):
    x = cx.cast(cx.tensor(a[0]), cx.out.dtype)
    v = cx.num_or_tensor(a[2])
    return cx.emit("where", [cx.as_bool(a[1]), v, x], {})


def clamp(cx, a, k):
    x = cx.cast(cx.tensor(a[0]), cx.out.dtype)
    lo, hi = _pos(a, 1, k.get("min")), _pos(a, 2, k.get("max"))
    if lo is not None:
        x = cx.emit("maximum", [x, cx.num_or_tensor(lo)], {}, base=cx.base + "_min")
    if hi is not None:
        x = cx.emit("minimum", [x, cx.num_or_tensor(hi)], {}, base=cx.base + "_max")
    return x


def clamp_min(cx, a, k):
    return cx.emit("maximum", [cx.cast(cx.tensor(a[0]), cx.out.dtype), cx.num_or_tensor(a[1])], {})


def clamp_max(cx, a, k):
    return cx.emit("minimum", [cx.cast(cx.tensor(a[0]), cx.out.dtype), cx.num_or_tensor(a[1])], {})


# -- reductions and norms


def reduction(name, dim_at=1, keep_at=2):
    def h(cx, a, k):
        x = cx.tensor(a[0])
        if name in ("sum", "mean") and cx.out.dtype in FLOAT:
            x = cx.cast(x, cx.out.dtype)  # sum(dtype=…) and mean of f16 accumulating in f32
        dim = _dims(_pos(a, dim_at, k.get("dim")), len(x.shape))
        keep = bool(_pos(a, keep_at, k.get("keepdim", False)))
        return cx.emit(name, [x], {"dim": dim, "keepdim": keep})
    return h


def max_dim(name, arg):
    def h(cx, a, k):
        x = cx.tensor(a[0])
        dim = _norm_dim(a[1], len(x.shape))
        keep = bool(_pos(a, 2, k.get("keepdim", False)))
        vals = Lazy(lambda: cx.emit(name, [x], {"dim": [dim], "keepdim": keep}, base=cx.base + "_values"))
        if arg is None:
            idx = Lazy(lambda: cx.fail(f"{cx.target} indices (no argmin op)"))
        else:
            idx = Lazy(lambda: cx.emit("argmax", [x], {"dim": dim, "keepdim": keep}, base=cx.base + "_indices"))
        return (vals, idx)
    return h


def argmax(cx, a, k):
    x = cx.tensor(a[0])
    return cx.emit("argmax", [x], {"dim": _pos(a, 1, k.get("dim")), "keepdim": bool(_pos(a, 2, k.get("keepdim", False)))})


def _var(cx, x, dim, correction, keep, base):
    """sum((x - mean)^2) / (N - correction) over `dim`, as torch.var."""
    nd = len(x.shape)
    dims = _dims(dim, nd) or list(range(nd))
    n = 1
    for d in dims:
        n *= x.shape[d]
    m = cx.emit("mean", [x], {"dim": dims, "keepdim": True}, base=base + "_mean")
    c = cx.emit("sub", [x, m], {}, base=base + "_centered")
    sq = cx.emit("mul", [c, c], {}, base=base + "_sq")
    s = cx.emit("sum", [sq], {"dim": dims, "keepdim": keep}, base=base + "_sum")
    return cx.emit("div", [s, max(n - correction, 0)], {}, base=base), m


def _correction(a, k, at):
    if "correction" in k or at is None:
        c = k.get("correction")
        return 1 if c is None else c
    unbiased = _pos(a, at, k.get("unbiased", True))
    return 1 if unbiased else 0


def var(cx, a, k):
    x = cx.cast(cx.tensor(a[0]), cx.out.dtype)
    at = 2 if "correction" not in cx.target and len(a) > 2 and isinstance(a[2], bool) else None
    keep = bool(k.get("keepdim", _pos(a, 3, False) if at else False))
    return _var(cx, x, _pos(a, 1, k.get("dim")), _correction(a, k, at), keep, cx.base)[0]


def std(cx, a, k):
    return cx.emit("sqrt", [var(cx, a, k)], {})


def var_mean(cx, a, k):
    x = cx.tensor(a[0])
    keep = bool(k.get("keepdim", False))
    v, m = _var(cx, x, _pos(a, 1, k.get("dim")), _correction(a, k, None), keep, cx.base + "_var")
    # the mean was kept with keepdim for the centring; without keepdim it has var's shape
    mean = m if keep else Lazy(lambda: cx.emit("reshape", [m], {"shape": cx.out.shape}))
    return (v, mean)


def softmax(name):
    def h(cx, a, k):
        x = cx.tensor(a[0])
        y = cx.emit(name, [x], {"dim": _pos(a, 1, k.get("dim"))})
        return y
    return h


def native_layer_norm(cx, a, k):
    x = cx.tensor(a[0])
    ns, w, b, eps = list(a[1]), _pos(a, 2), _pos(a, 3), _pos(a, 4, 1e-5)
    y = Lazy(lambda: cx.layer_norm(x, ns, w, b, eps))
    stat = Lazy(lambda: cx.fail("native_layer_norm's mean/rstd outputs (only the normalised "
                                "output is mapped)"))
    return (y, stat, stat)


def layer_norm(cx, a, k):
    x = cx.tensor(a[0])
    return cx.layer_norm(x, list(a[1]), _pos(a, 2, k.get("weight")), _pos(a, 3, k.get("bias")),
                         _pos(a, 4, k.get("eps", 1e-5)))


def rms_norm(cx, a, k):
    x = cx.tensor(a[0])
    w, eps = _pos(a, 2, k.get("weight")), _pos(a, 3, k.get("eps"))
    if eps is None:
        eps = torch.finfo(cx.node_input_dtype(0)).eps  # torch's default: eps of the input dtype
    args = [x] + ([cx.tensor(w)] if w is not None else [])
    return cx.emit("rms_norm", args, {"normalized_shape": list(a[1]), "eps": eps})


def embedding(cx, a, k):
    w, idx = cx.tensor(a[0]), cx.cast(cx.tensor(a[1]), "i32")
    return cx.emit("embedding", [w, idx], {})


def index_select(cx, a, k):
    """x.index_select(dim, idx) as an embedding lookup: dim moved to the front, the rest
    flattened into rows, looked up, and the dims put back."""
    x, idx = cx.tensor(a[0]), cx.cast(cx.tensor(a[2]), "i32")
    nd = len(x.shape)
    dim = _norm_dim(a[1], nd)
    if len(idx.shape) != 1:
        raise Unmappable("index_select needs a 1-d index")
    perm = [dim] + [d for d in range(nd) if d != dim]
    rest = [x.shape[d] for d in perm[1:]]
    y = x if dim == 0 else cx.emit("permute", [x], {"dims": perm}, base=cx.base + "_front")
    n = 1
    for s in rest:
        n *= s
    y = cx.emit("reshape", [y], {"shape": [x.shape[dim], n]}, base=cx.base + "_rows")
    y = cx.emit("embedding", [y, idx], {}, base=cx.base + "_lookup")
    y = cx.emit("reshape", [y], {"shape": [idx.shape[0]] + rest}, base=cx.base + "_unflat")
    if dim == 0:
        return y
    back = [perm.index(d) for d in range(nd)]
    return cx.emit("permute", [y], {"dims": back})


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


HANDLERS = {
    # identities: copies and dtype moves that change nothing in our graph
    "clone": identity, "detach": identity, "alias": identity, "lift_fresh": identity,
    "lift_fresh_copy": identity, "contiguous": identity, "_to_copy": to_copy, "to": to_copy,
    "type_as": to_copy, "dropout": identity, "feature_dropout": identity,
    # views
    "view": view_as_reshape, "_unsafe_view": view_as_reshape, "reshape": view_as_reshape,
    "_reshape_alias": view_as_reshape, "view_copy": view_as_reshape, "squeeze": view_as_reshape,
    "unsqueeze": view_as_reshape, "flatten": view_as_reshape, "unflatten": view_as_reshape,
    "squeeze_copy": view_as_reshape, "unsqueeze_copy": view_as_reshape,
    "_unsafe_view_copy": view_as_reshape,
    "expand": expand, "expand_copy": expand, "permute": permute, "permute_copy": permute,
    "transpose": transpose, "transpose_copy": transpose, "t": t, "t_copy": t, "numpy_T": t,
    "slice": slice_, "slice_copy": slice_, "select": select, "select_copy": select,
    "split": split, "split_copy": split, "split_with_sizes": split_with_sizes,
    "unbind": unbind, "cat": cat, "concat": cat, "stack": stack, "repeat": repeat,
    "repeat_interleave": repeat_interleave,
    # matmul
    "mm": mm, "matmul": mm, "mv": mm, "dot": mm, "bmm": bmm, "linear": linear,
    "addmm": addmm, "baddbmm": baddbmm,
    # pointwise
    "neg": unary("neg"), "abs": unary("abs"), "exp": unary("exp"), "log": unary("log"),
    "sqrt": unary("sqrt"), "rsqrt": unary("rsqrt"), "sin": unary("sin"), "cos": unary("cos"),
    "tanh": unary("tanh"), "sigmoid": unary("sigmoid"), "relu": unary("relu"),
    "silu": unary("silu"), "reciprocal": unary("reciprocal"), "gelu": gelu,
    "add": binary("add"), "sub": binary("sub"), "mul": binary("mul"), "div": div_mode,
    "true_divide": binary("div"), "rsub": rsub, "pow": pow_,
    "maximum": binary("maximum"), "minimum": binary("minimum"),
    "eq": compare("eq"), "lt": compare("lt"), "gt": compare("gt"), "ne": ne,
    "ge": ge_le("gt"), "le": ge_le("lt"),
    "logical_not": logical_not, "bitwise_not": logical_not, "logical_and": logical_and,
    "bitwise_and": logical_and, "logical_or": logical_or, "bitwise_or": logical_or,
    "where": where, "masked_fill": masked_fill, "clamp": clamp, "clip": clamp,
    "hardtanh": clamp, "clamp_min": clamp_min, "clamp_max": clamp_max,
    # reductions, norms
    "sum": reduction("sum"), "mean": reduction("mean"), "amax": reduction("max"),
    "amin": reduction("min"), "max": None, "min": None, "argmax": argmax,
    "var": var, "std": std, "var_mean": var_mean,
    "_softmax": softmax("softmax"), "softmax": softmax("softmax"),
    "_log_softmax": softmax("log_softmax"), "log_softmax": softmax("log_softmax"),
    "native_layer_norm": native_layer_norm, "layer_norm": layer_norm, "rms_norm": rms_norm,
    "embedding": embedding, "index_select": index_select,
    # creation from another tensor's shape
    "zeros_like": full_like(0), "ones_like": full_like(1), "full_like": full_like(None),
    "empty_like": full_like(0), "new_zeros": new_full(0), "new_ones": new_full(1),
    "new_full": new_full(None), "new_empty": new_full(0), "fill": new_full(None),
    "copy": copy,
}


def max_min(name):
    """max/min: all elements (one tensor), dim (values, indices) or the elementwise binary form."""
    def h(cx, a, k):
        if len(a) >= 2 and not isinstance(a[1], int):
            return binary("maximum" if name == "max" else "minimum")(cx, a, k)
        if len(a) >= 2:
            return max_dim(name, "argmax" if name == "max" else None)(cx, a, k)
        return cx.emit(name, [cx.tensor(a[0])], {"dim": None, "keepdim": False})
    return h


HANDLERS["max"] = max_min("max")
HANDLERS["min"] = max_min("min")

# random ops would be frozen by constant folding: refuse them instead
RANDOM = {"rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "bernoulli",
          "normal", "uniform", "native_dropout", "multinomial", "randperm", "exponential",
          "poisson"}
# uninitialised memory folds as zeros, so exports are reproducible
EMPTY = {"empty", "empty_strided", "empty_like", "new_empty"}


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
