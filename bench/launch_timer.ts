// Raw launch timing for the per-kernel sweeps (bench/matmul_sweep.ts, bench/pointwise_sweep.ts):
// one pipeline's launches encoded in one pass, submitted once and awaited, and the number of
// launches whose span clears the queue wait's jitter — the bench's differential rule applied to
// a single kernel.
import { MAX_DEVICE_CALLS } from "./harness.ts";

/** Times `n` launches of `pipeline` (one pass, one submit, one queue wait): wall ms. */
export function launchTimer(
  dev: GPUDevice,
  pipeline: GPUComputePipeline,
  bind: GPUBindGroup,
  grid: readonly number[],
): (n: number) => Promise<number> {
  const [x, y = 1, z = 1] = grid;
  return async (n) => {
    const t0 = performance.now();
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(x, y, z);
    pass.end();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
}

/** Launches per timing: N (at least 2) grows, at least doubling, until T(N) − T(1) reaches
 * `spanMs` or MAX_DEVICE_CALLS. */
export async function launchesForSpan(
  run: (n: number) => Promise<number>,
  spanMs: number,
): Promise<number> {
  let n = 2;
  for (;;) {
    const span = (await run(n)) - (await run(1));
    if (span >= spanMs || n >= MAX_DEVICE_CALLS) return n;
    n = Math.min(
      MAX_DEVICE_CALLS,
      Math.max(2 * n, Math.ceil((1.3 * spanMs * n) / Math.max(span, 0.05))),
    );
  }
}
