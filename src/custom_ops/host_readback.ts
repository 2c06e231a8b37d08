// inductor::host_readback(x): copies x to the host and back (a device -> host copy, upstream's
// DeviceCopy). It cannot be recorded into a replayed partition, so it always splits the graph.
import { registerCustomOp } from "../fx/custom_ops.ts";
import type { TensorMeta } from "../fx/graph.ts";
import type { RefTensor } from "../reference/tensor.ts";

export const HOST_READBACK_OP = "inductor::host_readback";

registerCustomOp({
  name: HOST_READBACK_OP,
  args: ["x"],
  shape: (args) => [...(args[0] as TensorMeta).shape],
  reference: (args) => {
    const x = args[0] as RefTensor;
    return { shape: [...x.shape], dtype: x.dtype, data: x.data.slice() };
  },
  js: (args: unknown[]) => (args[0] as Float32Array).slice(),
  hostReadback: true,
});
