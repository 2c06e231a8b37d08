// TensorFlow.js (tfjs-core + tfjs-backend-webgpu): each workload composed from tf ops the way a
// tfjs user writes it (tf.matMul, tf.softmax, tf.moments, …), eagerly (tfjs has no jit).
import { isWeight, uploadAllMatters, type Workload } from "../workloads.ts";
import type { DeviceCalls, Loader, Peer, PeerModule, PreparedRun } from "./types.ts";

// deno-lint-ignore no-explicit-any
type T = any;

export class TfjsPeer implements Peer {
  system = "tfjs-webgpu";
  tf: PeerModule;

  async init(load: Loader): Promise<string> {
    const tf = this.tf = await load("tfjs");
    if (!(await tf.setBackend("webgpu"))) throw new Error("tf.setBackend('webgpu') failed");
    await tf.ready();
    return `tfjs-core ${tf.version_core}, backend ${tf.getBackend()}`;
  }

  prepare(w: Workload, inputs: Float32Array[]): Promise<PreparedRun> {
    const tf = this.tf;
    const f = compute(tf, w);
    const upload = (i: number) => tf.tensor(inputs[i], w.specs[i].shape, "float32");
    // the weights as tf.Tensors made once; activations uploaded per call (or made once too)
    const resident: (T | null)[] = inputs.map((_, i) => isWeight(w, i) ? upload(i) : null);
    const call = (xs: T[]) => tf.tidy(() => f(xs));
    const hostCall = async (fresh: (i: number) => boolean) => {
      const made: T[] = [];
      const xs = inputs.map((_, i) => {
        if (!fresh(i) && resident[i]) return resident[i];
        const t = upload(i);
        made.push(t);
        return t;
      });
      const y = call(xs);
      try {
        return await y.data();
      } finally {
        y.dispose();
        tf.dispose(made);
      }
    };
    return Promise.resolve({
      run: () => hostCall(() => false),
      runAll: uploadAllMatters(w) ? () => hostCall(() => true) : undefined,
      device: (): Promise<DeviceCalls> => {
        const acts = inputs.map((_, i) => resident[i] ? null : upload(i));
        const xs = inputs.map((_, i) => resident[i] ?? acts[i]);
        let last: T = null;
        return Promise.resolve({
          // tfjs records into its command encoder and submits in batches (and on a read)
          call: () => {
            last?.dispose();
            last = call(xs);
            return Promise.resolve();
          },
          read: () => last.data(),
          dispose: () => {
            last?.dispose();
            tf.dispose(acts.filter((a) => a));
          },
        });
      },
      dispose: () => tf.dispose(resident.filter((a) => a)),
    });
  }
}

function compute(tf: PeerModule, w: Workload): (xs: T[]) => T {
  const p = w.p;
  switch (w.kind) {
    case "matmul":
      return ([a, b]) => tf.matMul(a, b);
    case "matvec":
      return ([m, x]) => tf.matMul(m, x).reshape([p.rows]);
    case "gelu":
      return ([x, a, b]) => {
        const y = x.mul(a).add(b);
        return y.mul(0.5).mul(tf.erf(y.mul(Math.SQRT1_2)).add(1));
      };
    case "softmax":
      return ([x]) => tf.softmax(x, -1);
    case "layernorm":
      return ([x, g, b]) => {
        const { mean, variance } = tf.moments(x, -1, true);
        return x.sub(mean).mul(tf.rsqrt(variance.add(p.eps))).mul(g).add(b);
      };
    case "rmsnorm":
      return ([x, g]) => rms(tf, x, g, p.eps!);
    case "dispatch":
      return ([h0, wt, b]) => {
        let h = h0;
        for (let i = 0; i < p.steps!; i++) h = tf.tanh(tf.matMul(h, wt).add(b));
        return h;
      };
    case "chain":
      return ([x]) => {
        let h = x;
        for (let i = 0; i < p.steps!; i++) h = i % 2 ? h.mul(0.5) : h.add(0.5);
        return h;
      };
    case "decoder":
      return (xs) => decoder(tf, w, xs);
  }
}

function rms(tf: PeerModule, x: T, g: T, eps: number): T {
  return x.mul(tf.rsqrt(tf.mean(tf.square(x), -1, true).add(eps))).mul(g);
}

function decoder(tf: PeerModule, w: Workload, xs: T[]): T {
  const c = w.p.decoder!;
  const { batch: B, seq: S, dim: D, heads: H } = c;
  const hd = D / H;
  const [x, mask, ...ws] = xs;
  // a dense layer as tfjs users write it: rows x W^T on the flattened batch
  const linear = (t: T, wt: T) => {
    const [, out] = [wt.shape[1], wt.shape[0]];
    return tf.matMul(t.reshape([-1, t.shape[t.shape.length - 1]]), wt, false, true).reshape([
      ...t.shape.slice(0, -1),
      out,
    ]);
  };
  const heads = (t: T) => t.reshape([B, S, H, hd]).transpose([0, 2, 1, 3]);
  let h = x;
  for (let l = 0; l < c.layers; l++) {
    const [an, wq, wk, wv, wo, mn, w1, w3, w2] = ws.slice(l * 9, l * 9 + 9);
    const n = rms(tf, h, an, 1e-6);
    const q = heads(linear(n, wq)), k = heads(linear(n, wk)), v = heads(linear(n, wv));
    const scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hd)).add(mask);
    const attn = tf.matMul(tf.softmax(scores, -1), v).transpose([0, 2, 1, 3]).reshape([B, S, D]);
    h = h.add(linear(attn, wo));
    const m = rms(tf, h, mn, 1e-6);
    const a = linear(m, w1);
    h = h.add(linear(a.mul(tf.sigmoid(a)).mul(linear(m, w3)), w2));
  }
  return h;
}
