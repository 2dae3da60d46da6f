/**
 * Makes a model folder's VAE encoder look like the early diffusers ONNX script's: one output,
 * `latent_sample` [b, 4, h, w], the latent itself rather than optimum's `latent_parameters`
 * (mean and log-variance). The early script sampled inside the graph; this one passes the mean
 * through, which is that sample with zero noise.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIM_VALUE, editFields, GRAPH, MODEL_GRAPH, node, parse, serialize, SHAPE_DIM, stringField, TENSOR_TYPE, text, TYPE_TENSOR, VALUE_INFO, varint, type Field } from './onnx-protobuf';

export function makeLegacyVaeEncoder(modelDir: string): void {
  const file = join(modelDir, 'vae_encoder', 'model.onnx');
  writeFileSync(file, editFields(readFileSync(file), MODEL_GRAPH, toLatentSample));
}

function toLatentSample(graph: Buffer): Buffer {
  const fields = parse(graph);
  const output = fields.find((f) => f.number === GRAPH.output && stringField(parse(f.value), VALUE_INFO.name) === 'latent_parameters');
  if (output === undefined) throw new Error('vae_encoder has no latent_parameters output to replace');
  const latentSample: Field = { ...output, value: renamedWithChannels(output.value, 'latent_sample', 4) };
  const split = node('Split', ['latent_parameters'], ['latent_sample', 'latent_logvar'], { axis: 1 });
  const lastNode = fields.length - 1 - [...fields].reverse().findIndex((f) => f.number === GRAPH.node);
  const rest = fields.map((f) => (f === output ? latentSample : f));
  return serialize([...rest.slice(0, lastNode + 1), split, ...rest.slice(lastNode + 1)]);
}

function renamedWithChannels(valueInfo: Buffer, name: string, channels: number): Buffer {
  const renamed = serialize(parse(valueInfo).map((f) => (f.number === VALUE_INFO.name ? text(VALUE_INFO.name, name) : f)));
  return editFields(renamed, VALUE_INFO.type, (typeProto) =>
    editFields(typeProto, TYPE_TENSOR, (tensor) =>
      editFields(tensor, TENSOR_TYPE.shape, (shape) => {
        let index = 0;
        return serialize(parse(shape).map((dim) => (dim.number === SHAPE_DIM && index++ === 1 ? { ...dim, value: serialize([varint(DIM_VALUE, channels)]) } : dim)));
      }),
    ),
  );
}
