import assert from "node:assert/strict";
import {
  decodeFields,
  floatField,
  int64Field,
  ProtobufError,
  ProtoReader,
  ProtoWriter,
  repeatedFloat,
  repeatedInt64,
  stringField,
  stringsField,
} from "../../src/model/onnx/protobuf.ts";
import { DataType, decodeModel, encodeModel, type ModelProto } from "../../src/model/onnx/proto.ts";

const VARINTS = [
  0,
  1,
  127,
  128,
  300,
  16383,
  16384,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  -1,
  -2,
  -300,
  -(2 ** 31),
  -(2 ** 53 - 1),
];

Deno.test("protobuf: varints round-trip as int64, negative ones as ten bytes", () => {
  for (const n of VARINTS) {
    const bytes = new ProtoWriter().int(3, n).finish();
    const fields = decodeFields(bytes, "test");
    assert.equal(fields.length, 1);
    assert.equal(int64Field(fields, 3, "n"), n, `varint ${n}`);
    if (n < 0) assert.equal(bytes.length, 11, `key + ten bytes for ${n}`);
  }
});

Deno.test("protobuf: known encodings (the spec's examples)", () => {
  assert.deepEqual([...new ProtoWriter().varint(150).finish()], [0x96, 0x01]);
  assert.deepEqual([...new ProtoWriter().int(1, 150).finish()], [0x08, 0x96, 0x01]);
  assert.deepEqual([...new ProtoWriter().string(2, "testing").finish()], [
    0x12,
    0x07,
    ...new TextEncoder().encode("testing"),
  ]);
  assert.deepEqual([...new ProtoWriter().packedInts(4, [3, 270, 86942]).finish()], [
    0x22,
    0x06,
    0x03,
    0x8e,
    0x02,
    0x9e,
    0xa7,
    0x05,
  ]);
});

Deno.test("protobuf: repeated fields decode packed and unpacked alike", () => {
  const packed = new ProtoWriter().packedInts(1, [5, -7, 2 ** 40]).packedFloats(2, [1.5, -0.25]).finish();
  const unpacked = new ProtoWriter().int(1, 5).int(1, -7).int(1, 2 ** 40).float(2, 1.5).float(2, -0.25)
    .finish();
  for (const bytes of [packed, unpacked]) {
    const f = decodeFields(bytes, "test");
    assert.deepEqual(repeatedInt64(f, 1, "ints"), [5, -7, 2 ** 40]);
    assert.deepEqual(repeatedFloat(f, 2, "floats"), [1.5, -0.25]);
  }
  // Mixed: protobuf parsers must concatenate packed and unpacked runs.
  const mixed = new ProtoWriter().int(1, 1).packedInts(1, [2, 3]).int(1, 4).finish();
  assert.deepEqual(repeatedInt64(decodeFields(mixed, "test"), 1, "ints"), [1, 2, 3, 4]);
});

Deno.test("protobuf: singular fields keep the last value; strings are UTF-8", () => {
  const bytes = new ProtoWriter().string(1, "first").string(1, "Zürich ✓").float(2, 0.1).float(2, 2).finish();
  const f = decodeFields(bytes, "test");
  assert.equal(stringField(f, 1, "s"), "Zürich ✓");
  assert.deepEqual(stringsField(f, 1, "s"), ["first", "Zürich ✓"]);
  assert.equal(floatField(f, 2, "f"), 2);
  assert.equal(stringField(f, 9, "absent"), undefined);
});

Deno.test("protobuf: the writer grows past its initial buffer", () => {
  const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
  const f = decodeFields(new ProtoWriter().bytes(1, big).int(2, 7).finish(), "test");
  assert.deepEqual(f[0].wire === 2 && f[0].bytes, big);
  assert.equal(int64Field(f, 2, "n"), 7);
});

Deno.test("protobuf: malformed input gives a ProtobufError, never a hang or a bad read", () => {
  const cases: [string, number[]][] = [
    ["truncated varint", [0x08, 0x96]],
    ["eleven-byte varint", [0x08, ...new Array(10).fill(0xff), 0x01]],
    ["length beyond the end", [0x12, 0x05, 0x61]],
    ["huge length", [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]],
    ["group wire type", [0x0b]],
    ["field number 0", [0x00, 0x01]],
    ["truncated fixed32", [0x15, 0x00, 0x00]],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => decodeFields(new Uint8Array(bytes), "test"), ProtobufError, name);
  }
  assert.throws(
    () => new ProtoReader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).uint("n"),
    /safe range/,
  );
  assert.throws(() => new ProtoWriter().varint(2 ** 53), RangeError);
  assert.throws(() => new ProtoWriter().varint(1.5), RangeError);
});

Deno.test("protobuf: wrong wire types for a field are refused", () => {
  const f = decodeFields(new ProtoWriter().string(1, "x").int(2, 3).finish(), "test");
  assert.throws(() => int64Field(f, 1, "n"), /wire type 2/);
  assert.throws(() => stringField(f, 2, "s"), /wire type 0/);
  assert.throws(() => floatField(f, 2, "f"), /wire type 0/);
});

Deno.test("onnx messages: a model round-trips through encode and decode", () => {
  const model: ModelProto = {
    irVersion: 8,
    opsetImports: [{ domain: "", version: 13 }, { domain: "com.example", version: 1 }],
    producerName: "taugate",
    producerVersion: "1",
    modelVersion: 3,
    docString: "doc",
    graph: {
      name: "g",
      nodes: [
        {
          name: "n1",
          opType: "Gather",
          inputs: ["W", "i"],
          outputs: ["G"],
          attributes: [
            { name: "axis", type: 2, i: -1 },
            { name: "alpha", type: 1, f: 0.5 },
            { name: "mode", type: 3, s: "x" },
            { name: "ints", type: 7, ints: [1, -2] },
            { name: "floats", type: 6, floats: [0.25] },
          ],
        },
      ],
      initializers: [
        {
          name: "W",
          dataType: DataType.INT8,
          dims: [2, 3],
          rawData: new Uint8Array([1, 2, 3, 255, 254, 253]),
        },
      ],
      inputs: [{ name: "i", elemType: DataType.INT32, shape: ["N"] }],
      outputs: [{ name: "G", elemType: DataType.INT8, shape: ["N", 3] }],
    },
    metadataProps: [{ key: "taugate", value: '{"a":1}' }, { key: "other", value: "ü" }],
  };
  assert.deepEqual(decodeModel(encodeModel(model)), model);
});

Deno.test("onnx messages: tensors with typed data fields decode too; external data is refused", () => {
  const tensor = new ProtoWriter().packedInts(1, [2]).int(2, DataType.FLOAT).string(8, "t").packedFloats(4, [
    1,
    2,
  ])
    .finish();
  const int8 = new ProtoWriter().packedInts(1, [2]).int(2, DataType.INT8).string(8, "q").int(5, -3).int(5, 4)
    .finish();
  const graph = new ProtoWriter().bytes(5, tensor).bytes(5, int8).finish();
  const m = decodeModel(new ProtoWriter().int(1, 8).bytes(7, graph).finish());
  assert.deepEqual(m.graph.initializers[0].floatData, [1, 2]);
  assert.deepEqual(m.graph.initializers[1].int32Data, [-3, 4]);
  const external = new ProtoWriter().string(8, "e").int(14, 1).finish();
  assert.throws(
    () => decodeModel(new ProtoWriter().bytes(7, new ProtoWriter().bytes(5, external).finish()).finish()),
    /external data/,
  );
  assert.throws(() => decodeModel(new ProtoWriter().int(1, 8).finish()), /no graph/);
});
