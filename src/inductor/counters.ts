// Compilation counters (upstream torch._dynamo.utils.counters / vLLM's compilation_counter):
// tests assert on them, e.g. the multi-graph piecewise scenario.
export const counters = {
  /** compile() calls that produced a program. */
  graphsCompiled: 0,
  /** compile() calls answered from the compile cache (warm compiles). */
  compileCacheHits: 0,
  /** Partitions made (1 per unsplit graph). */
  partitions: 0,
  /** Partitions that are recorded and replayed. */
  replayablePartitions: 0,
  /** Partitions recorded at prepare time (once per compiled graph and partition). */
  partitionsRecorded: 0,
  /** Autotune scripts run. */
  autotuneRuns: 0,
  /** Kernels whose tile configs were benchmarked (not found in the tuning cache). */
  autotuneBenchmarks: 0,
};
