/**
 * Makes the float16-I/O variant of a model folder inside a test, as real fp16 exports of SD 1.x
 * look from outside: every float32 graph input and output becomes float16, with Cast nodes around
 * the unchanged float32 graph (what `test/fixtures/tools/make_fp16_io_variant.py` does with the
 * `onnx` package, which these machines lack).
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { editFields, FLOAT, FLOAT16, GRAPH, MODEL_GRAPH, node, NODE, parse, serialize, stringField, TENSOR_PROTO_NAME, TENSOR_TYPE, TYPE_TENSOR, VALUE_INFO, readVarint, varint, type Field } from './onnx-protobuf';

export function makeFp16IoVariant(source: string, dest: string): void {
  cpSync(source, dest, { recursive: true });
  for (const part of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) {
    const file = join(dest, part, 'model.onnx');
    if (existsSync(file)) writeFileSync(file, editFields(readFileSync(file), MODEL_GRAPH, toHalfIo));
  }
}

function toHalfIo(graph: Buffer): Buffer {
  const fields = parse(graph);
  const initializers = new Set(fields.filter((f) => f.number === GRAPH.initializer).map((f) => stringField(parse(f.value), TENSOR_PROTO_NAME)));
  const renamedInputs = new Map<string, string>();
  const renamedOutputs = new Map<string, string>();
  const rewritten = fields.map((field) => {
    if (field.number !== GRAPH.input && field.number !== GRAPH.output) return field;
    const info = parse(field.value);
    const name = stringField(info, VALUE_INFO.name);
    if (initializers.has(name) || elemType(info) !== FLOAT) return field;
    (field.number === GRAPH.input ? renamedInputs : renamedOutputs).set(name, `${name}__fp32`);
    return { ...field, value: withElemType(field.value, FLOAT16) };
  });
  const nodes = rewritten.map((field) =>
    field.number === GRAPH.node ? { ...field, value: renameInNode(field.value, new Map([...renamedInputs, ...renamedOutputs]), renamedOutputs) } : field,
  );
  const inputCasts = [...renamedInputs].map(([name, inner]) => node('Cast', [name], [inner], { to: FLOAT }));
  const outputCasts = [...renamedOutputs].map(([name, inner]) => node('Cast', [inner], [name], { to: FLOAT16 }));
  // Nodes stay in topological order: input casts first, output casts last.
  const firstNode = nodes.findIndex((f) => f.number === GRAPH.node);
  const lastNode = nodes.length - 1 - [...nodes].reverse().findIndex((f) => f.number === GRAPH.node);
  return serialize([...nodes.slice(0, firstNode), ...inputCasts, ...nodes.slice(firstNode, lastNode + 1), ...outputCasts, ...nodes.slice(lastNode + 1)]);
}

/** Consumers read the renamed tensors; producers of graph outputs write the renamed ones. */
function renameInNode(message: Buffer, consumed: Map<string, string>, produced: Map<string, string>): Buffer {
  return serialize(
    parse(message).map((field): Field => {
      const map = field.number === NODE.input ? consumed : field.number === NODE.output ? produced : undefined;
      const renamed = map?.get(field.value.toString('utf8'));
      return renamed === undefined ? field : { ...field, value: Buffer.from(renamed, 'utf8') };
    }),
  );
}

function elemType(valueInfo: Field[]): number | undefined {
  const type = valueInfo.find((f) => f.number === VALUE_INFO.type);
  const tensor = type && parse(type.value).find((f) => f.number === TYPE_TENSOR);
  const elem = tensor && parse(tensor.value).find((f) => f.number === TENSOR_TYPE.elemType);
  return elem && readVarint(elem.value, 0)[0];
}

function withElemType(valueInfo: Buffer, type: number): Buffer {
  return editFields(valueInfo, VALUE_INFO.type, (typeProto) =>
    editFields(typeProto, TYPE_TENSOR, (tensor) => serialize(parse(tensor).map((f) => (f.number === TENSOR_TYPE.elemType ? varint(TENSOR_TYPE.elemType, type) : f)))),
  );
}
