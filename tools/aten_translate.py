"""The walk that turns a captured aten fx graph into our graph JSON (tools/export_torch.py):
constants folded, each op sent to its handler (aten_map.py), torch's shape and dtype recorded on
each result (a cast added where our dtype rules differ), unmappable ops collected with the node
and the module line where torch recorded them."""
import os
import re

import torch
import torch.utils._pytree as pytree

import aten_values as av
from aten_map import EMPTY, HANDLERS, RANDOM

TORCH_MAJOR = int(torch.__version__.split(".")[0])
IDENT = re.compile(r"[^A-Za-z0-9_]")
FRAME = re.compile(r'\s*File "([^"]+)", line (\d+), in (\S+)')
# frames in these are torch's, not the user's module
NOT_USER = tuple(os.path.normpath(os.path.dirname(p)) + os.sep for p in (
    torch.__file__, os.path.join(os.path.dirname(torch.__file__), "..", "functorch", "x")))
# frames from here outwards are the exporter and its caller
TOOLS = os.path.dirname(os.path.abspath(__file__)) + os.sep


# ---------------------------------------------------------------------------------------------
# where torch recorded a node


def location(node):
    """`file:line in fn: code` of the innermost frame outside torch's own sources."""
    lines = (node.meta.get("stack_trace") or "").splitlines()
    frames = []
    for i, ln in enumerate(lines):
        m = FRAME.match(ln)
        if m:
            nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
            frames.append((*m.groups(), "" if FRAME.match(nxt) else nxt))
    if TORCH_MAJOR >= 2:
        frames = frames[::-1]  # innermost first: 1.13 writes it first, 2.x last
    inner = []
    for f in frames:
        if os.path.abspath(f[0]).startswith(TOOLS):
            break
        inner.append(f)
    user = [f for f in inner
            if not f[0].startswith("<") and not os.path.abspath(f[0]).startswith(NOT_USER)]
    if not user:
        return "no line of the module: torch added it"
    f, line, fn, code = user[0]
    rel = os.path.relpath(f)
    return f"{f if rel.startswith('..') else rel}:{line} in {fn}: {code}"


# ---------------------------------------------------------------------------------------------
# translation


class Meta:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


def _val(node):
    """torch's fake value of a node (or, traced with real tensors, its TensorMetadata)."""
    v = node.meta.get("val")
    if v is None and "tensor_meta" in node.meta:
        v = node.meta["tensor_meta"]
    return v


def _is_multi(v):
    # TensorMetadata is a NamedTuple: a tuple with a dtype is one tensor
    return isinstance(v, (tuple, list)) and not hasattr(v, "dtype")


class Translator:
    """Walks the captured graph, folding constants and emitting our nodes through handlers."""

    def __init__(self, cap):
        self.cap = cap
        self.nodes, self.by_name, self.names = [], {}, set()
        self.placeholders = {}  # name -> (kind, json node, value to save or None)
        self.consts = {}  # id(Const) -> Ref
        self.n_const = 0
        self.notes = set(cap.notes)
        self.problems = list(cap.problems)
        self.out = self.base = self.target = self.raw = None

    # -- naming and emission

    def fresh(self, base):
        base = IDENT.sub("_", base) or "v"
        if base[0].isdigit():
            base = "_" + base
        name, i = base, 0
        while name in self.names:
            i += 1
            name = f"{base}_{i}"
        self.names.add(name)
        return name

    def emit(self, target, args, kwargs, base=None, shape=None):
        name = self.fresh(base or self.base)
        enc = [self._enc(a) for a in args]
        node = {"name": name, "op": "call_function", "target": target, "args": enc,
                "kwargs": {k: self._enc(v) for k, v in kwargs.items()}}
        self.nodes.append(node)
        self.by_name[name] = node
        return av.Ref(name, shape if shape is not None else self._shape_guess(target, args, kwargs),
                      self._dtype_guess(target, args, kwargs))

    def _enc(self, v):
        if isinstance(v, av.Ref):
            return v.json()
        if isinstance(v, (list, tuple)):
            return [self._enc(x) for x in v]
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            return av.finite_or_special(v)
        raise av.Unmappable(f"argument {v!r} has no JSON form")

    @staticmethod
    def _shape_guess(target, args, kwargs):
        if "shape" in kwargs:
            return list(kwargs["shape"])
        refs = [a for a in args if isinstance(a, av.Ref)]
        return list(refs[0].shape) if refs else []

    @staticmethod
    def _dtype_guess(target, args, kwargs):
        if target in ("eq", "lt", "gt"):
            return "bool"
        if target == "argmax":
            return "i32"
        if "dtype" in kwargs and kwargs["dtype"]:
            return kwargs["dtype"]
        refs = [a for a in (args[1:] if target == "where" else args) if isinstance(a, av.Ref)]
        if target == "sum" and refs and refs[0].dtype == "bool":
            return "i32"
        return refs[0].dtype if refs else "bool" if target == "where" else "f32"

    # -- helpers handlers use

    def fail(self, why):
        raise av.Unmappable(why)

    def tensor(self, v):
        if isinstance(v, av.Ref):
            return v
        if isinstance(v, av.Const):
            return self.materialise(v)
        if isinstance(v, av.Missing):
            raise _Skip()
        if isinstance(v, av.Lazy):
            return self.tensor(v.get())
        if isinstance(v, (int, float, bool)):
            dt = "bool" if isinstance(v, bool) else "i32" if isinstance(v, int) else "f32"
            return self.emit("full", [], {"shape": [], "value": v, "dtype": dt})
        raise av.Unmappable(f"expected a tensor, got {type(v).__name__}")

    def scalar(self, v):
        if isinstance(v, av.Const):
            return v.value.item()
        return v

    def num_or_tensor(self, v):
        if isinstance(v, av.Const) and v.value.dim() == 0:
            return v.value.item()
        if isinstance(v, (int, float, bool)):
            return v
        return self.tensor(v)

    def cast(self, ref, dt):
        if ref.dtype == dt:
            return ref
        r = self.emit("cast", [ref], {"dtype": dt}, base=self.base + "_cast", shape=ref.shape)
        r.dtype = dt
        return r

    def as_bool(self, v):
        if isinstance(v, av.Const) and v.value.dim() == 0:
            return bool(v.value.item())
        return self.cast(self.tensor(v), "bool")

    def operands(self, a, b, dt):
        out = []
        for v in (a, b):
            v = self.num_or_tensor(v)
            out.append(self.cast(v, dt) if isinstance(v, av.Ref) else v)
        if not any(isinstance(v, av.Ref) for v in out):
            out[0] = self.tensor(out[0])
        return out

    def _torch_operand(self, raw):
        if isinstance(raw, torch.fx.Node):
            v = _val(raw)
            return torch.empty((1,) * len(v.shape), dtype=v.dtype)
        return raw

    def promoted(self, a, b):
        """Our dtype of torch.result_type over the op's first two operands."""
        x, y = self._torch_operand(self.raw[0]), self._torch_operand(self.raw[1])
        return av.our_dtype(torch.result_type(x, y) if isinstance(x, torch.Tensor)
                            else torch.result_type(y, x))

    def node_input_dtype(self, i):
        return _val(self.raw[i]).dtype

    def layer_norm(self, x, ns, w, b, eps):
        args = [x, self.tensor(w) if w is not None else None, self.tensor(b) if b is not None else None]
        while args[-1] is None:
            args.pop()
        return self.emit("layer_norm", args, {"normalized_shape": ns, "eps": eps})

    # -- constants

    def materialise(self, c):
        key = id(c)
        if key in self.consts:
            return self.consts[key]
        t = c.value
        dt = av.our_dtype(t.dtype)
        flat = t.reshape(-1)
        uniform = flat.numel() > 0 and not torch.is_floating_point(t) and bool((flat == flat[0]).all())
        uniform = uniform or (flat.numel() > 0 and torch.is_floating_point(t) and
                              bool(torch.all((flat == flat[0]) | (flat.isnan() & flat[0].isnan()))))
        if c.fqn is not None:
            ref = self.placeholder(c.fqn, "buffer", list(t.shape), dt)
        elif uniform or t.dim() == 0:
            v = flat[0].item() if flat.numel() else 0
            ref = self.emit("full", [], {"shape": list(t.shape), "value": v, "dtype": dt},
                            base="constant", shape=list(t.shape))
            ref.dtype = dt
        else:
            name = f"_constant.{self.n_const}"
            self.n_const += 1
            self.names.add(name)
            ref = self.placeholder(name, "constant", list(t.shape), dt, save=convert_for_graph(t, name))
        self.consts[key] = ref
        return ref

    def placeholder(self, name, kind, shape, dt, save=None):
        if name not in self.placeholders:
            node = {"name": name, "op": "placeholder", "args": [], "kwargs": {},
                    "meta": {"shape": list(shape), "dtype": dt}}
            self.placeholders[name] = (kind, node, save)
        return av.Ref(name, shape, dt)

    # -- the walk

    def run(self):
        env = {}
        user_refs = []
        # parameter and buffer names are taken before any other node is named
        self.names.update(name for kind, name, _ in self.cap.inputs if kind != "user")
        for n, (kind, name, value) in zip(
                [n for n in self.cap.gm.graph.nodes if n.op == "placeholder"], self.cap.inputs):
            v = _val(n)
            if kind == "param":
                env[n] = self.placeholder(name, "param", list(v.shape), av.our_dtype(v.dtype))
                _note_dtype(self.notes, v.dtype)
            elif kind in ("buffer", "constant"):
                env[n] = av.Const(value, fqn=name if kind == "buffer" else None)
            else:
                _note_dtype(self.notes, v.dtype)
                uname = self.fresh(name)
                user_refs.append({"name": uname, "op": "placeholder", "args": [], "kwargs": {},
                                  "meta": {"shape": list(v.shape), "dtype": av.our_dtype(v.dtype)}})
                env[n] = av.Ref(uname, list(v.shape), av.our_dtype(v.dtype))
        live = _live_nodes(self.cap.gm, self.cap.outputs)
        for node in self.cap.gm.graph.nodes:
            if node.op == "get_attr":
                env[node] = av.Const(getattr(self.cap.gm, node.target).detach())
            elif node.op == "call_function":
                self._check_mutation(node)
                if node in live:
                    env[node] = self._call(node, env)
        outs = []
        for o in self.cap.outputs:
            v = env.get(o) if isinstance(o, torch.fx.Node) else o
            if isinstance(v, av.Lazy):
                v = v.get()
            if isinstance(v, av.Missing):
                continue
            if not isinstance(v, (av.Ref, av.Const)):
                self.problems.append(f"output {o} is not a tensor ({type(v).__name__})")
                continue
            outs.append(self.tensor(v))
        return user_refs, outs

    def _check_mutation(self, node):
        schema = getattr(node.target, "_schema", None)
        if schema is None or not schema.is_mutable:
            return
        if _packet(node.target).rstrip("_") in RANDOM:
            self._report(node, "random op (export the module in eval mode, without sampling)")
            return
        target = node.args[0] if node.args else None
        names = {n: name for n, (_, name, _) in zip(
            [n for n in self.cap.gm.graph.nodes if n.op == "placeholder"], self.cap.inputs)}
        if target in names:
            self._report(node, f"writes into '{names[target]}' in place (forward updates an "
                               "input or buffer; only pure forwards are supported)")
        else:
            self._report(node, "mutates its input in place (only functional graphs are supported)")

    def _report(self, node, why):
        self.problems.append(f"{_op_name(node.target)} at node '{node.name}' "
                             f"({location(node)}): {why}")

    def _call(self, node, env):
        def sub(x):
            return env[x] if isinstance(x, torch.fx.Node) else x
        args = [pytree.tree_map(sub, a) for a in node.args]
        kwargs = {k: pytree.tree_map(sub, v) for k, v in node.kwargs.items()}
        flat = pytree.tree_flatten((args, kwargs))[0]
        if any(isinstance(v, av.Missing) for v in flat):
            # downstream of an unmapped op: still report this op if it has no mapping either
            if node.target is not _getitem and _packet(node.target) not in HANDLERS:
                self._report(node, "no equivalent op in webgpu-inductor (see listOps())")
            return av.Missing()
        if node.target is _getitem:
            v = args[0][args[1]]
            if isinstance(v, av.Lazy):
                self._enter(node)
                start = len(self.nodes)
                try:
                    v = self._finish(node, v.get(), start)
                except av.Unmappable as e:
                    self._report(node.args[0], str(e))
                    return av.Missing()
            return v
        name = _packet(node.target)
        if name in RANDOM:
            self._report(node, "random op (export the module in eval mode, without sampling)")
            return av.Missing()
        if not any(isinstance(v, (av.Ref, av.Lazy)) for v in flat):
            folded = self._fold(node, args, kwargs, name)
            if folded is not None:
                return folded
        handler = HANDLERS.get(name)
        if handler is None:
            self._report(node, "no equivalent op in webgpu-inductor (see listOps())")
            return av.Missing()
        self._enter(node)
        start = len(self.nodes)
        try:
            return self._finish(node, handler(self, args, kwargs), start)
        except _Skip:
            return av.Missing()
        except av.Unmappable as e:
            self._report(node, str(e))
            return av.Missing()

    def _enter(self, node):
        self.base, self.target, self.raw = node.name, _op_name(node.target), node.args
        v = _val(node)
        if _is_multi(v):
            v = v[0] if v else None
        self.out = Meta(list(v.shape), av.our_dtype(v.dtype)) if v is not None and hasattr(v, "dtype") else None
        if v is not None and hasattr(v, "dtype"):
            _note_dtype(self.notes, v.dtype)

    def _finish(self, node, value, start):
        """Cast to torch's dtype where our rules differ; record torch's meta on the node."""
        if not isinstance(value, av.Ref) or self.out is None or _is_multi(_val(node)):
            return value
        if value.dtype != self.out.dtype:
            value = self.cast(value, self.out.dtype)
        value.shape = list(self.out.shape)
        if len(self.nodes) > start and value.name in self.by_name:
            self.by_name[value.name]["meta"] = {"shape": list(self.out.shape), "dtype": self.out.dtype}
        return value

    def _fold(self, node, args, kwargs, name):
        def real(x):
            return x.value if isinstance(x, av.Const) else x
        try:
            r = node.target(*pytree.tree_map(real, args), **pytree.tree_map(real, kwargs))
        except Exception:  # noqa: BLE001 — not foldable here; map it instead
            return None
        if name in EMPTY and isinstance(r, torch.Tensor):
            r = torch.zeros_like(r)

        def wrap(x):
            return av.Const(x.detach()) if isinstance(x, torch.Tensor) else x
        return tuple(wrap(x) for x in r) if isinstance(r, (tuple, list)) else wrap(r)


class _Skip(Exception):
    """An input is Missing: the op that made it is already reported."""


def _getitem_target():
    import operator
    return operator.getitem


_getitem = _getitem_target()


def _packet(target):
    s = getattr(target, "_schema", None)
    if s is not None:
        return s.name.split("::")[-1]
    return getattr(target, "__name__", str(target))


def _op_name(target):
    s = getattr(target, "_schema", None)
    if s is not None:
        ns, name = s.name.split("::")
        return f"{ns}.{name}.{s.overload_name or 'default'}"
    return str(target)


def _live_nodes(gm, outputs):
    live, stack = set(), [o for o in outputs if isinstance(o, torch.fx.Node)]
    while stack:
        n = stack.pop()
        if n in live:
            continue
        live.add(n)
        stack.extend(n.all_input_nodes)
    return live


def _note_dtype(notes, dt):
    note = av.DTYPES.get(dt, (None, None))[1]
    if note:
        notes.add(note)


def convert_for_graph(t, name):
    """A folded constant in our dtype (int64 range-checked, bf16/f64 widened/narrowed to f32)."""
    t = t.detach().contiguous()
    dt = av.our_dtype(t.dtype)
    if dt == "i32" and t.dtype != torch.int32:
        if t.numel() and (int(t.min()) < av.I32_MIN or int(t.max()) > av.I32_MAX):
            raise av.ExportError(f"{name}: int64 values out of the int32 range "
                              f"[{int(t.min())}, {int(t.max())}]")
        return t.to(torch.int32)
    if dt == "f32" and t.dtype != torch.float32:
        return t.to(torch.float32)
    return t
