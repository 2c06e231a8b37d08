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
import struct
import sys

import torch
import torch.utils._pytree as pytree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aten_translate import TORCH_MAJOR, Translator, convert_for_graph  # noqa: E402
from aten_values import ExportError  # noqa: E402

GRAPH_FORMAT, GRAPH_VERSION = "webgpu-inductor.graph", 1


# ---------------------------------------------------------------------------------------------
# capture


class Captured:
    """An aten-level fx graph and what each placeholder is: ("param" | "buffer" | "constant" |
    "user", name, real tensor or example)."""

    def __init__(self, gm, inputs, outputs, aliases, problems=()):
        self.gm, self.inputs, self.outputs, self.aliases = gm, inputs, outputs, aliases
        self.problems = list(problems)
        self.notes = []
        self.how = ""


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
    try:  # torch 2.x
        from torch.func import functional_call, functionalize
    except ImportError:  # torch 1.13
        from torch.nn.utils.stateless import functional_call
        try:
            from functorch import functionalize
        except ImportError:  # mutations then show up as in-place ops, which are reported
            functionalize = None

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
        return functional_call(module, state, tuple(args[len(names):]))

    if functionalize is not None:
        fn = functionalize(fn)
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
    cap.how = "make_fx(functionalize, " + ("real)" if notes else "fake)")
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
    cap = Captured(gm, inputs, outs, {}, problems)
    cap.how = "torch.export"
    return cap


def capture(module, example_args, how="auto"):
    """The aten graph: "export" (torch.export, the default on torch 2.x) or "make_fx" (the
    default on 1.13, and a fallback on 2.x)."""
    if how not in ("auto", "export", "make_fx"):
        raise ExportError(f"capture must be 'auto', 'export' or 'make_fx', got {how!r}")
    if how == "export" or (how == "auto" and TORCH_MAJOR >= 2 and hasattr(torch, "export")):
        return _capture_export(module, example_args)
    return _capture_make_fx(module, example_args)


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


def export(module, example_args, out_dir, capture_with="auto"):
    """Capture `module(*example_args)`, map it to our graph and write graph.json,
    model.safetensors and export.json into `out_dir`. Returns the manifest (export.json).
    `capture_with`: "auto", "export" (torch 2.x) or "make_fx"."""
    if isinstance(example_args, torch.Tensor):
        example_args = (example_args,)
    example_args = tuple(example_args)
    for i, a in enumerate(example_args):
        if not isinstance(a, torch.Tensor):
            raise ExportError(f"example_args[{i}] is a {type(a).__name__}; only tensors are supported")
    cap = capture(module, example_args, capture_with)
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
        "capture": cap.how,
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
    p.add_argument("--capture", default="auto", choices=["auto", "export", "make_fx"],
                   help="torch.export (torch 2.x default) or make_fx (1.13 default)")
    a = p.parse_args(argv)
    try:
        module, example_args = _load_factory(a.factory)()
        m = export(module, example_args, a.out_dir, a.capture)
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
