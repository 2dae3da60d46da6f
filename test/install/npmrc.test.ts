import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const REPOSITORY = resolve(__dirname, '../..');

describe('plain npm ci', () => {
  it("tells onnxruntime-node's install script to skip its CUDA download through the project's .npmrc", () => {
    // npm hands project settings to install scripts as npm_config_<name>, which is what
    // onnxruntime-node's script reads after ONNXRUNTIME_NODE_INSTALL.
    const env = { ...process.env };
    delete env.ONNXRUNTIME_NODE_INSTALL;
    delete env.npm_config_onnxruntime_node_install;
    const value = execFileSync('npm', ['config', 'get', 'onnxruntime-node-install'], { cwd: REPOSITORY, env, encoding: 'utf8' });
    expect(value.trim()).toBe('skip');
  });
});
