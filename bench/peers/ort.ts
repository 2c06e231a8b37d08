// onnxruntime-web with the webgpu execution provider: each workload is an ONNX graph built in
// memory (bench/peers/onnx.ts) from standard ops (MatMul, Softmax, LayerNormalization, Gelu, …),
// as an exported model would be; ORT's graph optimizer runs on it (level "all").
import { isWeight, uploadAllMatters, type Workload } from "../workloads.ts";
import { encodeModel, type OnnxInitializer, type OnnxModel, type OnnxNode } from "./onnx.ts";
import {
  type DeviceCalls,
  type Loader,
  type Peer,
  type PeerModule,
  type PreparedRun,
  transpose2d,
} from "./types.ts";

// deno-lint-ignore no-explicit-any
type T = any;

export class OrtPeer implements Peer {
  system = "ort-web";
  ort: PeerModule;

  async init(load: Loader): Promise<string> {
    const ort = this.ort = await load("ort");
    ort.env.logLevel = "error";
    // a throwaway session acquires the webgpu device
    const s = await this.#session(
      encodeModel({
        inputs: [{ name: "x", shape: [4] }],
        outputs: [{ name: "y", shape: [4] }],
        nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
      }),
      false,
    );
    await s.release();
    return `onnxruntime-web ${ort.env.versions?.web ?? "?"}, webgpu EP`;
  }

  #session(bytes: Uint8Array, gpuOut: boolean): Promise<T> {
    return this.ort.InferenceSession.create(bytes, {
      executionProviders: ["webgpu"],
      graphOptimizationLevel: "all",
      ...(gpuOut ? { preferredOutputLocation: "gpu-buffer" } : {}),
    });
  }

  async prepare(w: Workload, inputs: Float32Array[]): Promise<PreparedRun> {
    const ort = this.ort;
    const { model, feeds: host } = buildModel(w, inputs);
    const bytes = encodeModel(model);
    const session = await this.#session(bytes, false);
    const out = model.outputs[0].name;
    const names = model.inputs.map((v) => v.name);
    const shapes = model.inputs.map((v) => v.shape);
    const dev: GPUDevice = ort.env.webgpu.device;
    const bufs: GPUBuffer[] = [];
    /** A GPU tensor on ORT's device holding input i (made once). */
    const gpuTensor = (i: number) => {
      const b = dev.createBuffer({
        size: Math.ceil(host[i].byteLength / 16) * 16,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      dev.queue.writeBuffer(b, 0, host[i]);
      bufs.push(b);
      return ort.Tensor.fromGpuBuffer(b, { dataType: "float32", dims: shapes[i] });
    };
    const cpuTensor = (i: number) => new ort.Tensor("float32", host[i], shapes[i]);
    // the weights as GPU tensors made once; feeds mix them with per-call CPU activations
    const resident: (T | null)[] = names.map((_, i) => isWeight(w, i) ? gpuTensor(i) : null);
    const hostCall = async (fresh: boolean) => {
      const feeds: Record<string, T> = {};
      names.forEach((n, i) => feeds[n] = !fresh && resident[i] ? resident[i] : cpuTensor(i));
      const r = await session.run(feeds);
      return r[out].data as Float32Array;
    };
    let s2: T = null;
    return {
      run: () => hostCall(false),
      runAll: uploadAllMatters(w) ? () => hostCall(true) : undefined,
      device: async (): Promise<DeviceCalls> => {
        // outputs stay on the GPU (preferredOutputLocation "gpu-buffer"): a second session
        s2 ??= await this.#session(bytes, true);
        const feeds: Record<string, T> = {};
        names.forEach((n, i) => feeds[n] = resident[i] ?? gpuTensor(i));
        let last: T = null;
        return {
          call: async () => {
            last?.dispose();
            last = null;
            last = (await s2.run(feeds))[out];
          },
          read: () => last.getData(),
          dispose: () => last?.dispose(),
        };
      },
      dispose: async () => {
        await session.release();
        await s2?.release();
        for (const b of bufs) b.destroy();
      },
    };
  }
}

/** The ONNX graph of a workload and its feeds (decoder weights pre-transposed to [in, out], as
 * an exporter stores a Linear's weight for MatMul). */
function buildModel(
  w: Workload,
  inputs: Float32Array[],
): { model: OnnxModel; feeds: Float32Array[] } {
  const p = w.p;
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  let tmp = 0;
  const t = () => `t${tmp++}`;
  const op = (type: string, ins: string[], attrs?: OnnxNode["attrs"], outName?: string) => {
    const o = outName ?? t();
    nodes.push({ op: type, inputs: ins, outputs: [o], attrs });
    return o;
  };
  const scalar = (v: number) => {
    const name = `c${inits.length}`;
    inits.push({ name, shape: [], data: new Float32Array([v]) });
    return name;
  };
  const ints = (v: number[]) => {
    const name = `c${inits.length}`;
    inits.push({ name, shape: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
    return name;
  };
  // RMSNormalization (opset 23), as torch.onnx exports rms_norm at opset 23 (the decomposed
  // Pow/ReduceMean/Add/Sqrt/Div/Mul of older opsets stays 6 kernels on the webgpu EP)
  const rms = (x: string, g: string, eps: number) =>
    op("RMSNormalization", [x, g], { axis: -1, epsilon: { float: eps } });
  const specs = w.specs;
  const ins = specs.map((s) => ({ name: s.name!, shape: s.shape }));
  let feeds = inputs;
  let y: string;
  switch (w.kind) {
    case "matmul":
      y = op("MatMul", ["a", "b"]);
      break;
    case "matvec":
      y = op("Reshape", [op("MatMul", ["w", "x"]), ints([p.rows!])]);
      break;
    case "gelu":
      y = op("Gelu", [op("Add", [op("Mul", ["x", "a"]), "b"])]);
      break;
    case "softmax":
      y = op("Softmax", ["x"], { axis: -1 });
      break;
    case "layernorm":
      y = op("LayerNormalization", ["x", "w", "b"], { axis: -1, epsilon: { float: p.eps! } });
      break;
    case "rmsnorm":
      y = rms("x", "w", p.eps!);
      break;
    case "chain": {
      let h = "x";
      for (let i = 0; i < p.steps!; i++) h = op(i % 2 ? "Mul" : "Add", [h, scalar(0.5)]);
      y = h;
      break;
    }
    case "dispatch": {
      let h = "h";
      for (let i = 0; i < p.steps!; i++) h = op("Tanh", [op("Add", [op("MatMul", [h, "w"]), "b"])]);
      y = h;
      break;
    }
    case "decoder": {
      const c = p.decoder!;
      const { batch: B, seq: S, dim: D, heads: H } = c;
      const hd = D / H;
      feeds = inputs.map((d, i) => {
        const s = specs[i];
        return s.shape.length === 2 && s.name !== "mask"
          ? transpose2d(d, s.shape[0], s.shape[1])
          : d;
      });
      specs.forEach((s, i) => {
        if (s.shape.length === 2 && s.name !== "mask") ins[i].shape = [s.shape[1], s.shape[0]];
      });
      const heads = (x: string, perm: number[]) =>
        op("Transpose", [op("Reshape", [x, ints([B, S, H, hd])])], { perm });
      let h = "x";
      for (let l = 0; l < c.layers; l++) {
        const W = (n: string) => `l${l}_${n}`;
        const n = rms(h, W("attn_norm"), 1e-6);
        const q = heads(op("MatMul", [n, W("wq")]), [0, 2, 1, 3]);
        const kT = heads(op("MatMul", [n, W("wk")]), [0, 2, 3, 1]);
        const v = heads(op("MatMul", [n, W("wv")]), [0, 2, 1, 3]);
        const scores = op("Add", [
          op("Mul", [op("MatMul", [q, kT]), scalar(1 / Math.sqrt(hd))]),
          "mask",
        ]);
        const attn = op("MatMul", [op("Softmax", [scores], { axis: -1 }), v]);
        const merged = op("Reshape", [
          op("Transpose", [attn], { perm: [0, 2, 1, 3] }),
          ints([B, S, D]),
        ]);
        h = op("Add", [h, op("MatMul", [merged, W("wo")])]);
        const m = rms(h, W("mlp_norm"), 1e-6);
        const a = op("MatMul", [m, W("w1")]);
        const g = op("Mul", [op("Mul", [a, op("Sigmoid", [a])]), op("MatMul", [m, W("w3")])]);
        h = op("Add", [h, op("MatMul", [g, W("w2")])]);
      }
      y = h;
      break;
    }
  }
  // the graph output is called "y"
  nodes.find((n) => n.outputs[0] === y)!.outputs = ["y"];
  const outShape = w.kind === "decoder"
    ? [p.decoder!.batch, p.decoder!.seq, p.decoder!.dim]
    : w.kind === "matvec"
    ? [p.rows!]
    : w.kind === "dispatch"
    ? [1, p.width!]
    : specs[0].shape;
  return {
    model: {
      inputs: ins,
      outputs: [{ name: "y", shape: outShape }],
      nodes,
      initializers: inits,
      opset: 23,
    },
    feeds,
  };
}
