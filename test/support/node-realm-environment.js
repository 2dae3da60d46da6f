/**
 * Jest's node environment runs tests in a separate V8 context, so its Float32Array is not the one
 * onnxruntime-node's native binding checks against ("A float32 tensor's data must be type of
 * Float32Array"). Sharing the outer realm's typed arrays makes tensors cross the boundary as in
 * plain Node.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class NodeRealmEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = NodeRealmEnvironment;
