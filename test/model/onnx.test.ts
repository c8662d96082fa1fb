import assert from "node:assert/strict";
import { DENSE_DIM, FEATURE_SPEC } from "../../src/features/mod.ts";
import { decodeModel, encodeModel, type ModelProto } from "../../src/model/onnx/proto.ts";
import { ModelFormatError, readModelMeta, readModelOnnx } from "../../src/model/onnx/read.ts";
import { buildModelOnnx } from "../../src/model/onnx/write.ts";
import { dequantizeMatrix, quantizeMatrix } from "../../src/model/quantize.ts";
import { randomModel, specShape } from "../../src/model/random.ts";
import type { ModelParts } from "../../src/model/types.ts";

const SHIPPED = specShape();
const model = randomModel(11, { ...SHIPPED, hidden: 32, layers: [{ outDim: 16, activation: "tanh" }] });
const deep = randomModel(12, {
  dim: 256,
  denseDim: 5,
  hidden: 12,
  specId: "tgfs-test",
  layers: [{ outDim: 10, activation: "relu" }, { outDim: 8, activation: "tanh" }, {
    outDim: 6,
    activation: "none",
  }],
});
const flat = randomModel(13, { dim: 128, denseDim: 3, hidden: 8, specId: "tgfs-test", layers: [] });

const build = (m: ModelParts, quantize: "int8" | "none") =>
  buildModelOnnx(m.weights, m.head, m.meta, { quantize });

Deno.test("onnx: a float model reads back with bit-identical weights, head and card", () => {
  for (const m of [model, deep, flat]) {
    const back = readModelOnnx(build(m, "none"));
    assert.equal(back.quantized, false);
    assert.deepEqual(back.weights, m.weights);
    assert.deepEqual(back.head, { w: m.head.w, b: m.head.b });
    assert.deepEqual(back.meta, m.meta);
  }
});

Deno.test("onnx: an int8 model reads back within half a quantisation step of every weight", () => {
  for (const m of [model, deep, flat]) {
    const back = readModelOnnx(build(m, "int8"));
    assert.equal(back.quantized, true);
    const mats: [Float32Array, Float32Array, number][] = [
      [m.weights.W1, back.weights.W1, m.weights.hidden],
      [m.weights.Wd, back.weights.Wd, m.weights.hidden],
      ...m.weights.layers.map((l, i) =>
        [l.W, back.weights.layers[i].W, l.outDim] as [Float32Array, Float32Array, number]
      ),
    ];
    for (const [orig, read, cols] of mats) {
      assert.equal(read.length, orig.length);
      const q = quantizeMatrix(orig, orig.length / cols, cols);
      // Exactly the dequantisation ORT computes: float32(q) · scale.
      assert.deepEqual(read, dequantizeMatrix(q));
      for (let i = 0; i < orig.length; i++) {
        const step = q.scale[i % cols];
        assert.ok(
          Math.abs(read[i] - orig[i]) <= step / 2 * (1 + 1e-6),
          `weight ${i}: ${read[i]} vs ${orig[i]}`,
        );
      }
    }
    // Biases and the head are float32 in both forms.
    assert.deepEqual(back.weights.b1, m.weights.b1);
    assert.deepEqual(back.head.w, m.head.w);
    assert.deepEqual(
      back.weights.layers.map((l) => [l.activation, l.inDim, l.outDim]),
      m.weights.layers.map((l) => [l.activation, l.inDim, l.outDim]),
    );
  }
});

Deno.test("onnx: int8 is about 4× smaller than float32", () => {
  const i8 = build(model, "int8").length, f32 = build(model, "none").length;
  assert.ok(i8 < f32 / 3.5, `${i8} vs ${f32}`);
});

Deno.test("onnx: the graph has the contract's inputs, outputs, opset and card", () => {
  const m = decodeModel(build(model, "int8"));
  assert.equal(m.irVersion, 8);
  assert.deepEqual(m.opsetImports, [{ domain: "", version: 13 }]);
  assert.deepEqual(m.graph.inputs.map((v) => [v.name, v.elemType, v.shape]), [
    ["indices", 6, ["N"]],
    ["values", 1, [1, "N"]],
    ["dense", 1, [1, DENSE_DIM]],
  ]);
  assert.deepEqual(m.graph.outputs.map((v) => [v.name, v.elemType, v.shape]), [["z", 1, [1, 16]], [
    "score",
    1,
    [1, 1],
  ]]);
  const dq = m.graph.nodes.filter((n) => n.opType === "DequantizeLinear");
  assert.deepEqual(dq.map((n) => n.outputs[0]), ["W1", "Wd", "layer1_W"]);
  assert.ok(dq.every((n) => n.attributes.some((a) => a.name === "axis" && a.i === 1)));
  const W1q = m.graph.initializers.find((t) => t.name === "W1_q")!;
  assert.deepEqual([W1q.dataType, W1q.dims, W1q.rawData!.length], [
    3,
    [FEATURE_SPEC.dim, 32],
    FEATURE_SPEC.dim * 32,
  ]);
  assert.deepEqual(readModelMeta(build(model, "int8")), model.meta);
});

Deno.test("quantize: symmetric per column, all-zero columns and extremes", () => {
  const W = new Float32Array([0, 1, -3, 0, -0.5, 3]);
  const q = quantizeMatrix(W, 2, 3);
  assert.deepEqual([...q.q], [0, 127, -127, 0, -64, 127]);
  assert.equal(q.scale[0], 1); // zero column: any positive scale is exact
  assert.equal(q.scale[2], Math.fround(3 / 127));
  assert.throws(() => quantizeMatrix(new Float32Array([NaN]), 1, 1), /not finite/);
  assert.throws(() => quantizeMatrix(new Float32Array(3), 2, 2), /needs 4 values/);
});

Deno.test("writer: inconsistent parts are refused with a clear error", () => {
  const bad = (mutate: (m: ModelParts) => void, pattern: RegExp) => {
    const m = randomModel(1, {
      dim: 64,
      denseDim: 3,
      hidden: 4,
      layers: [{ outDim: 2, activation: "tanh" }],
      specId: "s",
    });
    mutate(m);
    assert.throws(() => build(m, "int8"), pattern);
  };
  bad((m) => (m.meta.dim = 65), /meta.dim is 65/);
  bad((m) => (m.meta.embedDim = 3), /meta.embedDim/);
  bad((m) => (m.weights.W1 = new Float32Array(10)), /W1 must have 256 values/);
  bad((m) => (m.weights.layers[0].inDim = 5), /inDim is 5/);
  bad((m) => (m.weights.b1[2] = Infinity), /b1\[2\] is not finite/);
  bad((m) => (m.head.w = new Float32Array(3)), /head.w must have 2 values/);
  bad((m) => (m.meta.specId = ""), /specId/);
  bad((m) => ((m.weights.layers[0] as { activation: string }).activation = "gelu"), /activation/);
  assert.throws(
    () => buildModelOnnx(model.weights, model.head, model.meta, { quantize: "int4" as "int8" }),
    /quantize/,
  );
});

Deno.test("reader: malformed bytes give a ModelFormatError naming the problem", () => {
  const good = build(flat, "int8");
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(0), /empty/],
    ["text", new TextEncoder().encode("hello, this is not a model"), /not an ONNX model/],
    ["truncated", good.subarray(0, good.length - 7), /not an ONNX model|ends after|missing|bytes/],
    ["random", new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24), /readModelOnnx/],
  ];
  for (const [name, bytes, pattern] of cases) {
    assert.throws(
      () => readModelOnnx(bytes),
      (e: Error) => e instanceof ModelFormatError && pattern.test(e.message),
      name,
    );
  }
  // Every truncation and single-byte corruption fails cleanly (or, rarely, still reads as a valid model).
  for (let cut = 0; cut < good.length; cut += 97) {
    try {
      readModelOnnx(good.subarray(0, cut));
    } catch (e) {
      assert.ok(e instanceof ModelFormatError, `cut at ${cut}: ${e}`);
    }
  }
  for (let i = 0; i < good.length; i += 53) {
    const bytes = good.slice();
    bytes[i] ^= 0x5a;
    try {
      readModelOnnx(bytes);
    } catch (e) {
      assert.ok(e instanceof ModelFormatError, `byte ${i}: ${e}`);
    }
  }
});

Deno.test("reader: a valid ONNX model that is not taugate's graph is refused", () => {
  const base = () => decodeModel(build(deep, "int8"));
  const bad = (mutate: (m: ModelProto) => void, pattern: RegExp) => {
    const m = base();
    mutate(m);
    assert.throws(() => readModelOnnx(encodeModel(m)), pattern);
  };
  bad((m) => (m.metadataProps = []), /no metadata_props entry "taugate"/);
  bad((m) => (m.metadataProps[0].value = "{"), /not JSON/);
  bad((m) => (m.metadataProps[0].value = '{"modelId":"x"}'), /not a model card/);
  bad((m) => (m.opsetImports = [{ domain: "", version: 11 }]), /opset/);
  bad((m) => m.graph.inputs.pop(), /3 inputs/);
  bad((m) => (m.graph.inputs[0].elemType = 7), /input "indices"/);
  bad((m) => (m.graph.outputs[0].shape = [1, 7]), /output "z"/);
  bad((m) => (m.graph.nodes.find((n) => n.opType === "Relu")!.opType = "Sigmoid"), /expected Relu/);
  bad(
    (m) => (m.graph.nodes.find((n) => n.opType === "Tanh")!.opType = "Softplus"),
    /expected MatMul|unexpected node|after/,
  );
  bad(
    (m) => (m.graph.nodes.find((n) => n.opType === "Gather")!.inputs[1] = "values"),
    /input 1 must be "indices"/,
  );
  bad(
    (m) => m.graph.initializers.splice(m.graph.initializers.findIndex((t) => t.name === "b1"), 1),
    /"b1" is not an initializer/,
  );
  bad(
    (m) => (m.graph.initializers.find((t) => t.name === "W1_q")!.rawData = new Uint8Array(5)),
    /has 5 bytes/,
  );
  bad((m) => (m.graph.initializers.find((t) => t.name === "W1_scale")!.dims = [3]), /scale/);
  bad((m) => m.graph.initializers.push(m.graph.initializers[0]), /appears twice/);
  bad(
    (m) =>
      m.graph.nodes.push({
        name: "extra",
        opType: "Relu",
        inputs: ["score"],
        outputs: ["x"],
        attributes: [],
      }),
    /unexpected node/,
  );
  bad((m) => (m.graph.nodes.find((n) => n.opType === "DequantizeLinear")!.attributes[0].i = 0), /axis 1/);
  bad((m) => {
    const card = JSON.parse(m.metadataProps[0].value);
    card.head.b += 1;
    m.metadataProps[0].value = JSON.stringify(card);
  }, /card's head differs/);
  bad((m) => {
    const card = JSON.parse(m.metadataProps[0].value);
    card.dim = 512;
    m.metadataProps[0].value = JSON.stringify(card);
  }, /meta.dim is 512/);
});
