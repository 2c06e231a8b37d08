// jax-js (@jax-js/jax) on its webgpu device: the workloads in jax.numpy / jax.nn style, under
// jit (`jax-js`) and eagerly (`jax-js-eager`). jax-js arrays are reference counted: every call
// consumes its arguments, so persistent arrays are passed as `.ref`.
import { isWeight, uploadAllMatters, type Workload } from "../workloads.ts";
import type { DeviceCalls, Loader, Peer, PeerModule, PreparedRun } from "./types.ts";

// deno-lint-ignore no-explicit-any
type A = any;

let jaxReady: Promise<PeerModule> | null = null;

function initJax(load: Loader): Promise<PeerModule> {
  return jaxReady ??= (async () => {
    const jax = await load("jax");
    const devs: string[] = await jax.init("webgpu");
    if (!devs.includes("webgpu")) throw new Error(`jax-js init: no webgpu device (${devs})`);
    jax.defaultDevice("webgpu");
    return jax;
  })();
}

export class JaxPeer implements Peer {
  jax: PeerModule;
  constructor(readonly jit: boolean) {}

  get system(): string {
    return this.jit ? "jax-js" : "jax-js-eager";
  }

  async init(load: Loader): Promise<string> {
    this.jax = await initJax(load);
    return `@jax-js/jax ${this.jit ? "jit" : "eager"}, device ${this.jax.defaultDevice()}`;
  }

  prepare(w: Workload, inputs: Float32Array[]): Promise<PreparedRun> {
    const jax = this.jax, np = jax.numpy;
    const body = compute(jax, w);
    const f = this.jit ? jax.jit((...xs: A[]) => body(xs)) : (...xs: A[]) => body(xs);
    const upload = (i: number) => np.array(inputs[i], { shape: w.specs[i].shape });
    // the weights as arrays made once (passed as .ref: a call consumes its arguments)
    const resident: (A | null)[] = inputs.map((_, i) => isWeight(w, i) ? upload(i) : null);
    const hostCall = async (fresh: boolean) =>
      await f(...inputs.map((_, i) => !fresh && resident[i] ? resident[i].ref : upload(i)))
        .data();
    return Promise.resolve({
      run: () => hostCall(false),
      runAll: uploadAllMatters(w) ? () => hostCall(true) : undefined,
      device: async (): Promise<DeviceCalls> => {
        const xs = inputs.map((_, i) => resident[i] ?? upload(i));
        await jax.blockUntilReady(xs);
        let last: A = null;
        return {
          // jax-js is lazy: work is dispatched only when a result is demanded, and an array
          // disposed unrealised is never computed. gpuBuffer() on a new reference dispatches
          // the call's work (one submit per kernel) without waiting for it.
          call: async () => {
            last?.dispose();
            last = f(...xs.map((x) => x.ref));
            await last.ref.gpuBuffer();
          },
          read: async () => {
            const out = await last.data(); // consumes last
            last = null;
            return out;
          },
          dispose: () => {
            last?.dispose();
            xs.forEach((x, i) => resident[i] || x.dispose());
          },
        };
      },
      dispose: () => {
        for (const r of resident) r?.dispose();
        f.dispose?.();
      },
    });
  }
}

/** The math, consuming its arguments (each used more than once is `.ref`-ed first). */
function compute(jax: PeerModule, w: Workload): (xs: A[]) => A {
  const np = jax.numpy, nn = jax.nn;
  const p = w.p;
  switch (w.kind) {
    case "matmul":
      return ([a, b]) => np.matmul(a, b);
    case "matvec":
      return ([m, x]) => np.matmul(m, x).reshape([p.rows]);
    case "gelu":
      return ([x, a, b]) => nn.gelu(x.mul(a).add(b), { approximate: false });
    case "softmax":
      return ([x]) => nn.softmax(x, -1);
    case "layernorm":
      return ([x, g, b]) => {
        const xc = x.ref.sub(x.mean(-1, { keepdims: true }));
        const v = np.square(xc.ref).mean(-1, { keepdims: true });
        return xc.mul(np.reciprocal(np.sqrt(v.add(p.eps)))).mul(g).add(b);
      };
    case "rmsnorm":
      return ([x, g]) => rms(np, x, g, p.eps!);
    case "dispatch":
      return ([h0, wt, b]) => {
        let h = h0;
        for (let i = 0; i < p.steps!; i++) h = np.tanh(np.matmul(h, wt.ref).add(b.ref));
        wt.dispose();
        b.dispose();
        return h;
      };
    case "chain":
      return ([x]) => {
        let h = x;
        for (let i = 0; i < p.steps!; i++) h = i % 2 ? h.mul(0.5) : h.add(0.5);
        return h;
      };
    case "decoder":
      return (xs) => decoder(jax, w, xs);
  }
}

function rms(np: PeerModule, x: A, g: A, eps: number): A {
  const ms = np.square(x.ref).mean(-1, { keepdims: true });
  return x.mul(np.reciprocal(np.sqrt(ms.add(eps)))).mul(g);
}

function decoder(jax: PeerModule, w: Workload, xs: A[]): A {
  const np = jax.numpy, nn = jax.nn;
  const c = w.p.decoder!;
  const { batch: B, seq: S, dim: D, heads: H } = c;
  const hd = D / H;
  const [x, mask, ...ws] = xs;
  const linear = (t: A, wt: A) => np.matmul(t, wt.transpose());
  const heads = (t: A) => t.reshape([B, S, H, hd]).transpose([0, 2, 1, 3]);
  let h = x;
  for (let l = 0; l < c.layers; l++) {
    const [an, wq, wk, wv, wo, mn, w1, w3, w2] = ws.slice(l * 9, l * 9 + 9);
    const n = rms(np, h.ref, an, 1e-6);
    const q = heads(linear(n.ref, wq));
    const k = heads(linear(n.ref, wk));
    const v = heads(linear(n, wv));
    const scores = np.matmul(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(hd)).add(
      l === c.layers - 1 ? mask : mask.ref,
    );
    const attn = np.matmul(nn.softmax(scores, -1), v).transpose([0, 2, 1, 3]).reshape([B, S, D]);
    h = h.add(linear(attn, wo));
    const m = rms(np, h.ref, mn, 1e-6);
    h = h.add(linear(nn.silu(linear(m.ref, w1)).mul(linear(m, w3)), w2));
  }
  return h;
}
