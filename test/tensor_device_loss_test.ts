// Device loss: tensors of the lost device say they must be recreated; a CompiledGraph rebuilds its
// executor on the next device at its next run (README: a lost device is re-acquired on the next
// call). Kept in its own file: it destroys the shared device.
import assert from "node:assert/strict";
import { compile, DeviceError, interpret, ops, tensor } from "../src/mod.ts";
import { getDevice } from "../src/runtime/device.ts";
import { assertClose, LOOSE } from "./helpers.ts";

Deno.test("after device loss: tensors must be recreated, compiled graphs recover at the next run", async () => {
  const h = await getDevice();
  const x = Float32Array.from([1, -2, NaN, 4]);
  const t = tensor(x, [4], { name: "kept" });
  const w = tensor(Float32Array.from([0.5, 0.5, 0.5, 0.5]), [4], { name: "weight" });
  const plain = compile((a, b) => ops.mul(ops.relu(a), b), {
    inputs: [{ shape: [4] }, { shape: [4] }],
  });
  const withParam = compile((a, b) => ops.add(a, b), {
    inputs: [{ shape: [4] }, { shape: [4] }],
    params: { arg1: w },
  });
  const want = interpret(plain.graph, [x, x]);
  assertClose((await plain.run([t, x]))[0], want[0], LOOSE, "before loss");
  await withParam.run([x]);
  h.device.destroy();
  await assert.rejects(
    t.read(),
    (e) =>
      e instanceof DeviceError && /'kept'/.test(e.message) && /lost/.test(e.message) &&
      /recreated/.test(e.message),
  );
  // the same CompiledGraph recovers with host inputs; a lost tensor input is named
  assertClose((await plain.run([x, x]))[0], want[0], LOOSE, "after loss, rebuilt");
  await assert.rejects(
    plain.run([t, x]),
    (e) => e instanceof DeviceError && /'kept'.*recreated/s.test(e.message),
  );
  await assert.rejects(
    withParam.run([x]),
    (e) => e instanceof DeviceError && /param 'arg1'/.test(e.message) && /'weight'/.test(e.message),
  );
  const h2 = await getDevice();
  assert.notEqual(h2, h);
  const t2 = tensor(x, [4], { name: "fresh" });
  assertClose((await plain.run([t2, x]))[0], want[0], LOOSE, "with a recreated tensor");
  t2.dispose();
  await plain.disposeAsync();
  await withParam.disposeAsync();
});
