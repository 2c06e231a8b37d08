#!/usr/bin/env python3
"""Export a torch.nn.Module to webgpu-inductor: `out_dir/graph.json` (our JSON graph format),
`out_dir/model.safetensors` (every parameter and buffer under its fully qualified name, plus
folded constants as `_constant.N`) and `out_dir/export.json` (what each placeholder is).

    from export_torch import export
    export(module, (x,), "out/my_model")

    /usr/bin/python3 tools/export_torch.py my_model.py:make out/my_model
    # make() returns (module, example_args)

The graph is captured at the aten level, the way inductor receives it: `torch.export` plus its
decompositions on torch 2.x, `make_fx` over `functionalize(functional_call(...))` with fake
tensors on torch 1.13 (parameters and buffers passed as explicit arguments so they become
placeholders). Aten ops are then mapped to our ops (tools/aten_map.py); subgraphs that depend
only on buffers and constants are folded at export time. Ops that cannot be mapped are listed
together in one ExportError.
"""
import importlib.util
import json
import os
import re
import struct
import sys
import traceback

import torch
import torch.utils._pytree as pytree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aten_map as am  # noqa: E402

GRAPH_FORMAT, GRAPH_VERSION = "webgpu-inductor.graph", 1
TORCH_MAJOR = int(torch.__version__.split(".")[0])
IDENT = re.compile(r"[^A-Za-z0-9_]")
TORCH_DIR = os.path.dirname(torch.__file__)


class ExportError(Exception):
    """The module cannot be exported; the message lists every reason."""


# ---------------------------------------------------------------------------------------------
# capture


class Captured:
    """An aten-level fx graph and what each placeholder is: ("param" | "buffer" | "constant" |
    "user", name, real tensor or example)."""

    def __init__(self, gm, inputs, outputs, aliases, problems=()):
        self.gm, self.inputs, self.outputs, self.aliases = gm, inputs, outputs, aliases
        self.problems = list(problems)
        self.notes = []


def _named_tensors(module):
    """(fqn, tensor, kind) for every parameter and buffer, tied ones under each of their names."""
    out = []
    for prefix, mod in module.named_modules(remove_duplicate=False):
        pre = prefix + "." if prefix else ""
        for n, p in mod._parameters.items():
            if p is not None:
                out.append((pre + n, p, "param"))
        for n, b in mod._buffers.items():
            if b is not None:
                out.append((pre + n, b, "buffer"))
    return out


def _input_names(module, n):
    """Names for the user inputs: forward's parameter names, else input_0, input_1, …"""
    import inspect
    try:
        ps = [p for p in inspect.signature(module.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(ps) >= n:
            return [p.name for p in ps[:n]]
    except (TypeError, ValueError):
        pass
    return [f"input_{i}" for i in range(n)]


def _capture_make_fx(module, example_args):
    """torch 1.13: make_fx(functionalize(functional_call)) with fake tensors."""
    from torch.fx.experimental.proxy_tensor import PythonKeyTracer, make_fx
    from torch.nn.utils import stateless

    canon, first, aliases = {}, [], {}
    for fqn, t, kind in _named_tensors(module):
        if id(t) in canon:
            aliases[fqn] = canon[id(t)]
            continue
        canon[id(t)] = fqn
        first.append((fqn, t, kind))
    names = [f for f, _, _ in first]
    alias_of = {a: names.index(c) for a, c in aliases.items()}

    def fn(*args):
        state = dict(zip(names, args[:len(names)]))
        state.update({a: args[i] for a, i in alias_of.items()})
        return stateless.functional_call(module, state, tuple(args[len(names):]))

    try:
        from functorch import functionalize
        fn = functionalize(fn)
    except ImportError:  # mutations then show up as in-place ops, which are reported
        pass
    tensors = [t.detach() for _, t, _ in first]
    old = PythonKeyTracer.record_stack_traces
    PythonKeyTracer.record_stack_traces = True
    notes = []
    try:
        gm = make_fx(fn, tracing_mode="fake")(*tensors, *example_args)
    except Exception as e:  # noqa: BLE001
        # 1.13's fake tensors reject some ops (repeat_interleave makes a tensor on the meta
        # device); real tensors trace them, with the same static shapes
        notes.append(f"traced with real tensors: fake tracing failed ({type(e).__name__}: "
                     f"{str(e).splitlines()[0] if str(e) else 'no message'})")
        gm = make_fx(fn, tracing_mode="real")(*tensors, *example_args)
    finally:
        PythonKeyTracer.record_stack_traces = old
    inputs = [(kind, fqn, t.detach()) for fqn, t, kind in first]
    user = _input_names(module, len(example_args))
    inputs += [("user", n, a) for n, a in zip(user, example_args)]
    out = [n for n in gm.graph.nodes if n.op == "output"][0]
    cap = Captured(gm, inputs, pytree.tree_flatten(out.args[0])[0], aliases)
    cap.notes = notes
    return cap


def _capture_export(module, example_args):
    """torch 2.x: torch.export.export, then the default decompositions (core aten)."""
    ep = torch.export.export(module, tuple(example_args))
    if hasattr(ep, "run_decompositions"):
        ep = ep.run_decompositions()
    gm, sig = ep.graph_module, ep.graph_signature
    phs = [n for n in gm.graph.nodes if n.op == "placeholder"]
    user = iter(_input_names(module, len(example_args)))
    kinds = {"PARAMETER": "param", "BUFFER": "buffer", "CONSTANT_TENSOR": "constant"}
    inputs, problems = [], []
    for spec, _node in zip(sig.input_specs, phs):
        kind = spec.kind.name
        if kind == "USER_INPUT":
            inputs.append(("user", next(user), None))
        elif kind in kinds:
            value = ep.state_dict.get(spec.target)
            if value is None:
                value = ep.constants.get(spec.target)
            inputs.append((kinds[kind], spec.target, value.detach()))
        else:
            problems.append(f"input '{spec.arg.name}' of kind {kind} is not supported")
            inputs.append(("user", spec.arg.name, None))
    out = [n for n in gm.graph.nodes if n.op == "output"][0]
    outs = []
    for spec, node in zip(sig.output_specs, out.args[0]):
        if spec.kind.name != "USER_OUTPUT":
            problems.append(f"output '{getattr(node, 'name', node)}' is a {spec.kind.name} "
                            "(buffer or input mutation); only pure forwards are supported")
        else:
            outs.append(node)
    return Captured(gm, inputs, outs, {}, problems)


def capture(module, example_args):
    if TORCH_MAJOR >= 2 and hasattr(torch, "export"):
        return _capture_export(module, example_args)
    return _capture_make_fx(module, example_args)


# ---------------------------------------------------------------------------------------------
# where torch recorded a node


def location(node):
    """`file:line in fn: code` of the innermost frame outside torch's own sources."""
    st = node.meta.get("stack_trace") or ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)\n\s*(.*)', st)
    if TORCH_MAJOR >= 2:
        frames = frames[::-1]  # innermost first: 1.13 writes it first, 2.x last
    user = [f for f in frames if not f[0].startswith(TORCH_DIR)]
    if not (user or frames):
        return "no stack trace recorded"
    f, line, fn, code = (user or frames)[0]
    rel = os.path.relpath(f)
    return f"{f if rel.startswith('..') else rel}:{line} in {fn}: {code.strip()}"


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
        return am.Ref(name, shape if shape is not None else self._shape_guess(target, args, kwargs),
                      self._dtype_guess(target, args, kwargs))

    def _enc(self, v):
        if isinstance(v, am.Ref):
            return v.json()
        if isinstance(v, (list, tuple)):
            return [self._enc(x) for x in v]
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            return am.finite_or_special(v)
        raise am.Unmappable(f"argument {v!r} has no JSON form")

    @staticmethod
    def _shape_guess(target, args, kwargs):
        if "shape" in kwargs:
            return list(kwargs["shape"])
        refs = [a for a in args if isinstance(a, am.Ref)]
        return list(refs[0].shape) if refs else []

    @staticmethod
    def _dtype_guess(target, args, kwargs):
        if target in ("eq", "lt", "gt"):
            return "bool"
        if target == "argmax":
            return "i32"
        if "dtype" in kwargs and kwargs["dtype"]:
            return kwargs["dtype"]
        refs = [a for a in (args[1:] if target == "where" else args) if isinstance(a, am.Ref)]
        if target == "sum" and refs and refs[0].dtype == "bool":
            return "i32"
        return refs[0].dtype if refs else "bool" if target == "where" else "f32"

    # -- helpers handlers use

    def fail(self, why):
        raise am.Unmappable(why)

    def tensor(self, v):
        if isinstance(v, am.Ref):
            return v
        if isinstance(v, am.Const):
            return self.materialise(v)
        if isinstance(v, am.Missing):
            raise _Skip()
        if isinstance(v, am.Lazy):
            return self.tensor(v.get())
        if isinstance(v, (int, float, bool)):
            dt = "bool" if isinstance(v, bool) else "i32" if isinstance(v, int) else "f32"
            return self.emit("full", [], {"shape": [], "value": v, "dtype": dt})
        raise am.Unmappable(f"expected a tensor, got {type(v).__name__}")

    def scalar(self, v):
        if isinstance(v, am.Const):
            return v.value.item()
        return v

    def num_or_tensor(self, v):
        if isinstance(v, am.Const) and v.value.dim() == 0:
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
        if isinstance(v, am.Const) and v.value.dim() == 0:
            return bool(v.value.item())
        return self.cast(self.tensor(v), "bool")

    def operands(self, a, b, dt):
        out = []
        for v in (a, b):
            v = self.num_or_tensor(v)
            out.append(self.cast(v, dt) if isinstance(v, am.Ref) else v)
        if not any(isinstance(v, am.Ref) for v in out):
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
        return am.our_dtype(torch.result_type(x, y) if isinstance(x, torch.Tensor)
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
        dt = am.our_dtype(t.dtype)
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
        return am.Ref(name, shape, dt)

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
                env[n] = self.placeholder(name, "param", list(v.shape), am.our_dtype(v.dtype))
                _note_dtype(self.notes, v.dtype)
            elif kind in ("buffer", "constant"):
                env[n] = am.Const(value, fqn=name if kind == "buffer" else None)
            else:
                _note_dtype(self.notes, v.dtype)
                uname = self.fresh(name)
                user_refs.append({"name": uname, "op": "placeholder", "args": [], "kwargs": {},
                                  "meta": {"shape": list(v.shape), "dtype": am.our_dtype(v.dtype)}})
                env[n] = am.Ref(uname, list(v.shape), am.our_dtype(v.dtype))
        live = _live_nodes(self.cap.gm, self.cap.outputs)
        for node in self.cap.gm.graph.nodes:
            if node.op == "get_attr":
                env[node] = am.Const(getattr(self.cap.gm, node.target).detach())
            elif node.op == "call_function":
                self._check_mutation(node)
                if node in live:
                    env[node] = self._call(node, env)
        outs = []
        for o in self.cap.outputs:
            v = env.get(o) if isinstance(o, torch.fx.Node) else o
            if isinstance(v, am.Lazy):
                v = v.get()
            if isinstance(v, am.Missing):
                continue
            if not isinstance(v, (am.Ref, am.Const)):
                self.problems.append(f"output {o} is not a tensor ({type(v).__name__})")
                continue
            outs.append(self.tensor(v))
        return user_refs, outs

    def _check_mutation(self, node):
        schema = getattr(node.target, "_schema", None)
        if schema is not None and schema.is_mutable:
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
        if any(isinstance(v, am.Missing) for v in flat):
            return am.Missing()
        if node.target is _getitem:
            v = args[0][args[1]]
            if isinstance(v, am.Lazy):
                self._enter(node)
                start = len(self.nodes)
                try:
                    v = self._finish(node, v.get(), start)
                except am.Unmappable as e:
                    self._report(node.args[0], str(e))
                    return am.Missing()
            return v
        name = _packet(node.target)
        if name in am.RANDOM:
            self._report(node, "random op (export the module in eval mode, without sampling)")
            return am.Missing()
        if not any(isinstance(v, (am.Ref, am.Lazy)) for v in flat):
            folded = self._fold(node, args, kwargs, name)
            if folded is not None:
                return folded
        handler = am.HANDLERS.get(name)
        if handler is None:
            self._report(node, "no equivalent op in webgpu-inductor (see listOps())")
            return am.Missing()
        self._enter(node)
        start = len(self.nodes)
        try:
            return self._finish(node, handler(self, args, kwargs), start)
        except _Skip:
            return am.Missing()
        except am.Unmappable as e:
            self._report(node, str(e))
            return am.Missing()

    def _enter(self, node):
        self.base, self.target, self.raw = node.name, _op_name(node.target), node.args
        v = _val(node)
        if _is_multi(v):
            v = v[0] if v else None
        self.out = Meta(list(v.shape), am.our_dtype(v.dtype)) if v is not None and hasattr(v, "dtype") else None
        if v is not None and hasattr(v, "dtype"):
            _note_dtype(self.notes, v.dtype)

    def _finish(self, node, value, start):
        """Cast to torch's dtype where our rules differ; record torch's meta on the node."""
        if not isinstance(value, am.Ref) or self.out is None or _is_multi(_val(node)):
            return value
        if value.dtype != self.out.dtype:
            value = self.cast(value, self.out.dtype)
        value.shape = list(self.out.shape)
        if len(self.nodes) > start and value.name in self.by_name:
            self.by_name[value.name]["meta"] = {"shape": list(self.out.shape), "dtype": self.out.dtype}
        return value

    def _fold(self, node, args, kwargs, name):
        def real(x):
            return x.value if isinstance(x, am.Const) else x
        try:
            r = node.target(*pytree.tree_map(real, args), **pytree.tree_map(real, kwargs))
        except Exception:  # noqa: BLE001 — not foldable here; map it instead
            return None
        if name in am.EMPTY and isinstance(r, torch.Tensor):
            r = torch.zeros_like(r)

        def wrap(x):
            return am.Const(x.detach()) if isinstance(x, torch.Tensor) else x
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
    note = am.DTYPES.get(dt, (None, None))[1]
    if note:
        notes.add(note)


def convert_for_graph(t, name):
    """A folded constant in our dtype (int64 range-checked, bf16/f64 widened/narrowed to f32)."""
    t = t.detach().contiguous()
    dt = am.our_dtype(t.dtype)
    if dt == "i32" and t.dtype != torch.int32:
        if t.numel() and (int(t.min()) < am.I32_MIN or int(t.max()) > am.I32_MAX):
            raise ExportError(f"{name}: int64 values out of the int32 range "
                              f"[{int(t.min())}, {int(t.max())}]")
        return t.to(torch.int32)
    if dt == "f32" and t.dtype != torch.float32:
        return t.to(torch.float32)
    return t


# ---------------------------------------------------------------------------------------------
# safetensors (written here so the tool needs nothing beyond torch)

ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
             torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def save_safetensors(tensors, path, metadata=None):
    """Write {name: tensor} as a safetensors file (little-endian, 8-byte aligned header)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype not in ST_DTYPES:
            raise ExportError(f"{name}: dtype {t.dtype} cannot be saved")
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------------
# export


def export(module, example_args, out_dir):
    """Capture `module(*example_args)`, map it to our graph and write graph.json,
    model.safetensors and export.json into `out_dir`. Returns the manifest (export.json)."""
    if isinstance(example_args, torch.Tensor):
        example_args = (example_args,)
    example_args = tuple(example_args)
    for i, a in enumerate(example_args):
        if not isinstance(a, torch.Tensor):
            raise ExportError(f"example_args[{i}] is a {type(a).__name__}; only tensors are supported")
    cap = capture(module, example_args)
    tr = Translator(cap)
    user, outs = tr.run()
    if tr.problems:
        raise ExportError(
            f"export_torch: {len(tr.problems)} problem(s) mapping {type(module).__name__} to "
            "webgpu-inductor ops:\n" + "\n".join("  " + p for p in tr.problems))
    phs = [node for _, node, _ in tr.placeholders.values()]
    output = {"name": tr.fresh("output"), "op": "output", "args": [[o.json() for o in outs]], "kwargs": {}}
    graph = {"format": GRAPH_FORMAT, "version": GRAPH_VERSION, "nodes": phs + user + tr.nodes + [output]}
    save = {}
    for fqn, t, _kind in _named_tensors(module):
        if fqn not in cap.aliases:
            if t.dtype in (torch.int64, torch.int16, torch.int8, torch.uint8):
                convert_for_graph(t, fqn)  # range check now rather than at load
            save[fqn] = t
    for name, (kind, _node, value) in tr.placeholders.items():
        if kind == "constant":
            save[name] = value
    os.makedirs(out_dir, exist_ok=True)
    manifest = {
        "format": "webgpu-inductor.torch-export", "version": 1,
        "torch": torch.__version__,
        "capture": "torch.export" if TORCH_MAJOR >= 2 else "make_fx(functionalize, fake)",
        "module": type(module).__name__,
        "params": [n for n, (k, _, _) in tr.placeholders.items() if k in ("param", "buffer")],
        "constants": [n for n, (k, _, _) in tr.placeholders.items() if k == "constant"],
        "inputs": [{"name": u["name"], **u["meta"]} for u in user],
        "outputs": [{"name": o.name, "shape": o.shape, "dtype": o.dtype} for o in outs],
        "aliases": cap.aliases,
        "notes": sorted(tr.notes),
    }
    with open(os.path.join(out_dir, "graph.json"), "w") as f:
        json.dump(graph, f, indent=1, allow_nan=False)
    save_safetensors(save, os.path.join(out_dir, "model.safetensors"),
                     {"format": "webgpu-inductor.torch-export"})
    with open(os.path.join(out_dir, "export.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def _load_factory(spec):
    path, _, fn = spec.rpartition(":")
    if not path or not fn:
        raise ExportError(f"expected FILE.py:FACTORY, got {spec!r}")
    s = importlib.util.spec_from_file_location("_export_target", path)
    if s is None:
        raise ExportError(f"cannot import {path}")
    mod = importlib.util.module_from_spec(s)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    s.loader.exec_module(mod)
    if not hasattr(mod, fn):
        raise ExportError(f"{path} has no function {fn}")
    return getattr(mod, fn)


def main(argv):
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("factory", help="FILE.py:FUNCTION returning (module, example_args)")
    p.add_argument("out_dir")
    a = p.parse_args(argv)
    try:
        module, example_args = _load_factory(a.factory)()
        m = export(module, example_args, a.out_dir)
    except ExportError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"wrote {a.out_dir}/graph.json, model.safetensors, export.json: "
          f"{len(m['params'])} params/buffers, {len(m['constants'])} constants, "
          f"{len(m['inputs'])} inputs, {len(m['outputs'])} outputs")
    for n in m["notes"]:
        print(f"note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
