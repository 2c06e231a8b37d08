"""Aten op name (the overload packet: `addmm`, `_softmax`, …) -> handler; see aten_views.py and
aten_math.py. An op missing here is reported by the exporter with its node and module line."""
import aten_math as m
import aten_views as v

HANDLERS = {
    # identities: copies and dtype moves that change nothing in our graph
    "clone": v.identity, "detach": v.identity, "alias": v.identity, "lift_fresh": v.identity,
    "lift_fresh_copy": v.identity, "contiguous": v.identity, "_to_copy": v.to_copy, "to": v.to_copy,
    "type_as": v.to_copy, "dropout": v.identity, "feature_dropout": v.identity,
    # views
    "view": v.view_as_reshape, "_unsafe_view": v.view_as_reshape, "reshape": v.view_as_reshape,
    "_reshape_alias": v.view_as_reshape, "view_copy": v.view_as_reshape, "squeeze": v.view_as_reshape,
    "unsqueeze": v.view_as_reshape, "flatten": v.view_as_reshape, "unflatten": v.view_as_reshape,
    "squeeze_copy": v.view_as_reshape, "unsqueeze_copy": v.view_as_reshape,
    "_unsafe_view_copy": v.view_as_reshape,
    "expand": v.expand, "expand_copy": v.expand, "permute": v.permute, "permute_copy": v.permute,
    "transpose": v.transpose, "transpose_copy": v.transpose, "t": v.t, "t_copy": v.t, "numpy_T": v.t,
    "slice": v.slice_, "slice_copy": v.slice_, "select": v.select, "select_copy": v.select,
    "split": v.split, "split_copy": v.split, "split_with_sizes": v.split_with_sizes,
    "unbind": v.unbind, "cat": v.cat, "concat": v.cat, "stack": v.stack, "repeat": v.repeat,
    "repeat_interleave": v.repeat_interleave,
    # matmul
    "mm": m.mm, "matmul": m.mm, "mv": m.mm, "dot": m.mm, "bmm": m.bmm, "linear": m.linear,
    "addmm": m.addmm, "baddbmm": m.baddbmm,
    # pointwise
    "neg": m.unary("neg"), "abs": m.unary("abs"), "exp": m.unary("exp"), "log": m.unary("log"),
    "sqrt": m.unary("sqrt"), "rsqrt": m.unary("rsqrt"), "sin": m.unary("sin"), "cos": m.unary("cos"),
    "tanh": m.unary("tanh"), "sigmoid": m.unary("sigmoid"), "relu": m.unary("relu"),
    "silu": m.unary("silu"), "reciprocal": m.unary("reciprocal"), "gelu": m.gelu,
    "add": m.binary("add"), "sub": m.binary("sub"), "mul": m.binary("mul"), "div": m.div_mode,
    "true_divide": m.binary("div"), "floor_divide": m.floor_divide, "rsub": m.rsub, "pow": m.pow_,
    "maximum": m.binary("maximum"), "minimum": m.binary("minimum"),
    "eq": m.compare("eq"), "lt": m.compare("lt"), "gt": m.compare("gt"), "ne": m.ne,
    "ge": m.ge_le("gt"), "le": m.ge_le("lt"),
    "logical_not": m.logical_not, "bitwise_not": m.logical_not, "logical_and": m.logical_and,
    "bitwise_and": m.logical_and, "logical_or": m.logical_or, "bitwise_or": m.logical_or,
    "where": m.where, "masked_fill": m.masked_fill, "clamp": m.clamp, "clip": m.clamp,
    "hardtanh": m.clamp, "clamp_min": m.clamp_min, "clamp_max": m.clamp_max,
    # reductions, norms
    "sum": m.reduction("sum"), "mean": m.reduction("mean"), "amax": m.reduction("max"),
    "amin": m.reduction("min"), "argmax": m.argmax,
    "var": m.var, "std": m.std, "var_mean": m.var_mean,
    "_softmax": m.softmax("softmax"), "softmax": m.softmax("softmax"),
    "_log_softmax": m.softmax("log_softmax"), "log_softmax": m.softmax("log_softmax"),
    "native_layer_norm": m.native_layer_norm, "layer_norm": m.layer_norm, "rms_norm": m.rms_norm,
    "embedding": m.embedding, "index_select": m.index_select,
    # creation from another tensor's shape
    "zeros_like": v.full_like(0), "ones_like": v.full_like(1), "full_like": v.full_like(None),
    "empty_like": v.full_like(0), "new_zeros": v.new_full(0), "new_ones": v.new_full(1),
    "new_full": v.new_full(None), "new_empty": v.new_full(0), "fill": v.new_full(None),
    "copy": v.copy,
    "max": m.max_min("max"), "min": m.max_min("min"),
}

# random ops would be frozen by constant folding: refuse them instead
RANDOM = {"rand", "randn", "randint", "rand_like", "randn_like", "randint_like", "bernoulli",
          "normal", "uniform", "native_dropout", "multinomial", "randperm", "exponential",
          "poisson"}
# uninitialised memory folds as zeros, so exports are reproducible
EMPTY = {"empty", "empty_strided", "empty_like", "new_empty"}
