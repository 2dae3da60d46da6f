/**
 * How the gateway is bundled, in one place: the infrastructure passes these to NodejsFunction's
 * `bundling` and `npm run bench:gateway` measures the same bundle.
 *
 * AWS SDK v3 is bundled, not taken from the runtime: the versions the tests ran against are the
 * versions that run, and only the commands we use are included (the runtime's copy would be whole
 * clients loaded from disk anyway).
 */
export const GATEWAY_ENTRY = 'lambda/src/handler.ts';

export const GATEWAY_BUNDLING = {
  minify: true,
  target: 'node24',
  /** Empty: bundle everything, the AWS SDK included (NodejsFunction leaves `@aws-sdk/*` out by default). */
  externalModules: [] as string[],
  sourceMap: false,
  /**
   * ES module builds first: esbuild can then drop the SDK commands and schemas we never use
   * (about 0.7 MB less than the CommonJS builds).
   */
  mainFields: ['module', 'main'] as string[],
} as const;

/**
 * The same bundle for esbuild's own API, so the benchmark and the bundle test measure exactly what
 * NodejsFunction deploys.
 */
export function gatewayEsbuildOptions(repoRoot: string) {
  return {
    entryPoints: [`${repoRoot}/${GATEWAY_ENTRY}`],
    bundle: true,
    platform: 'node' as const,
    format: 'cjs' as const,
    target: GATEWAY_BUNDLING.target,
    minify: GATEWAY_BUNDLING.minify,
    sourcemap: GATEWAY_BUNDLING.sourceMap,
    mainFields: GATEWAY_BUNDLING.mainFields,
    external: GATEWAY_BUNDLING.externalModules,
    write: false as const,
    logLevel: 'silent' as const,
  };
}
