"""Aten matmul, pointwise, reduction and normalisation ops as webgpu-inductor ops.

Handlers are h(cx, args, kwargs) -> value, `cx` the Translator. Operands are cast to torch's
result dtype first where our dtype rules differ (a literal adopts its tensor's dtype here, while
torch promotes `int_tensor * 0.5` to float).
"""
import torch

from aten_values import FLOAT, Lazy, Unmappable, _dims, _norm_dim, _pos


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
    if mode == "floor" and cx.out.dtype == "i32":
        return floor_divide(cx, a[:2], {})
    raise Unmappable(f"div with rounding_mode={mode!r} on {cx.out.dtype} (no floor/trunc op)")


def floor_divide(cx, a, k):
    """Integer a // b (Python's floor) from truncating division: q - (r != 0 and sign(r) !=
    sign(b)), r = a - q*b. Floats would need a floor op, which we lack."""
    if cx.out.dtype != "i32":
        raise Unmappable(f"floor division of {cx.out.dtype} (only integers: there is no floor op)")
    x, y = cx.operands(a[0], a[1], "i32")
    b = cx.base
    q = cx.emit("div", [x, y], {}, base=b + "_trunc")
    r = cx.emit("sub", [x, cx.emit("mul", [q, y], {}, base=b + "_qb")], {}, base=b + "_rem")
    nonzero = cx.emit("eq", [cx.emit("eq", [r, 0], {}, base=b + "_r0"), False], {}, base=b + "_nz")
    r_neg = cx.emit("lt", [r, 0], {}, base=b + "_rneg")
    if isinstance(y, (int, float)):
        differ = r_neg if y >= 0 else cx.emit("eq", [r_neg, False], {}, base=b + "_differ")
    else:
        y_neg = cx.emit("lt", [y, 0], {}, base=b + "_yneg")
        same = cx.emit("eq", [r_neg, y_neg], {}, base=b + "_same")
        differ = cx.emit("eq", [same, False], {}, base=b + "_differ")
    fix = cx.emit("where", [nonzero, differ, False], {}, base=b + "_fix")
    return cx.emit("sub", [q, cx.cast(fix, "i32")], {})


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


def max_min(name):
    """max/min: all elements (one tensor), dim (values, indices) or the elementwise binary form."""
    def h(cx, a, k):
        if len(a) >= 2 and not isinstance(a[1], int):
            return binary("maximum" if name == "max" else "minimum")(cx, a, k)
        if len(a) >= 2:
            return max_dim(name, "argmax" if name == "max" else None)(cx, a, k)
        return cx.emit(name, [cx.tensor(a[0])], {"dim": None, "keepdim": False})
    return h
