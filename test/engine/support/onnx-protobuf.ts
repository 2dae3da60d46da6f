/**
 * Just enough of the protobuf wire format to edit ONNX files in tests: a message is read as its
 * list of fields, each kept as raw bytes, so that what is not edited (weights included) is written
 * back byte for byte. Field numbers are onnx.proto3's.
 */
export const FLOAT = 1;
export const FLOAT16 = 10;
export const MODEL_GRAPH = 7;
export const GRAPH = { node: 1, initializer: 5, input: 11, output: 12 } as const;
export const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 } as const;
export const VALUE_INFO = { name: 1, type: 2 } as const;
export const TYPE_TENSOR = 1;
export const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
export const SHAPE_DIM = 1;
export const DIM_VALUE = 1;
export const TENSOR_PROTO_NAME = 8;
export const ATTRIBUTE = { name: 1, i: 3, type: 20 } as const;
export const ATTRIBUTE_TYPE_INT = 2;

export interface Field {
  readonly number: number;
  readonly wire: number;
  /** The value's bytes (LEN: its payload; VARINT, I32, I64: its encoding). */
  readonly value: Buffer;
}

/** A node `opType` reading `inputs` and writing `outputs`, with integer attributes. */
export function node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: Record<string, number> = {}): Field {
  const fields: Field[] = [
    ...inputs.map((name) => text(NODE.input, name)),
    ...outputs.map((name) => text(NODE.output, name)),
    text(NODE.name, `${outputs[0]}_${opType.toLowerCase()}`),
    text(NODE.opType, opType),
    ...Object.entries(attributes).map(([name, value]) => ({
      number: NODE.attribute,
      wire: 2,
      value: serialize([text(ATTRIBUTE.name, name), varint(ATTRIBUTE.i, value), varint(ATTRIBUTE.type, ATTRIBUTE_TYPE_INT)]),
    })),
  ];
  return { number: GRAPH.node, wire: 2, value: serialize(fields) };
}

/** Applies `edit` to the LEN field(s) numbered `number` of a message. */
export function editFields(message: Buffer, number: number, edit: (value: Buffer) => Buffer): Buffer {
  return serialize(parse(message).map((field) => (field.number === number ? { ...field, value: edit(field.value) } : field)));
}

export function stringField(fields: Field[], number: number): string {
  return fields.find((f) => f.number === number)?.value.toString('utf8') ?? '';
}

export function text(number: number, value: string): Field {
  return { number, wire: 2, value: Buffer.from(value, 'utf8') };
}

export function varint(number: number, value: number): Field {
  return { number, wire: 0, value: encodeVarint(value) };
}

export function parse(bytes: Buffer): Field[] {
  const fields: Field[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const [key, afterKey] = readVarint(bytes, offset);
    const number = Math.floor(key / 8);
    const wire = key % 8;
    let end: number;
    let start = afterKey;
    if (wire === 0) end = readVarint(bytes, afterKey)[1];
    else if (wire === 1) end = afterKey + 8;
    else if (wire === 5) end = afterKey + 4;
    else if (wire === 2) {
      const [length, afterLength] = readVarint(bytes, afterKey);
      start = afterLength;
      end = afterLength + length;
    } else throw new Error(`unsupported protobuf wire type ${wire} at byte ${offset}`);
    fields.push({ number, wire, value: bytes.subarray(start, end) });
    offset = end;
  }
  return fields;
}

export function serialize(fields: readonly Field[]): Buffer {
  const parts: Buffer[] = [];
  for (const field of fields) {
    parts.push(encodeVarint(field.number * 8 + field.wire));
    if (field.wire === 2) parts.push(encodeVarint(field.value.length));
    parts.push(field.value);
  }
  return Buffer.concat(parts);
}

/** Values stay below 2^53 here (lengths, field keys, small enums), so plain numbers suffice. */
export function readVarint(bytes: Buffer, offset: number): [number, number] {
  let value = 0;
  let scale = 1;
  let position = offset;
  for (;;) {
    const byte = bytes[position++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, position];
    scale *= 128;
  }
}

export function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
