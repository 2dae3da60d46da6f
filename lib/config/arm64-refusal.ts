/**
 * Why synth refuses `backend.lambdaArchitecture: arm64` until a deployment proves it: onnxruntime's
 * cpuinfo cannot read /sys/devices/system/cpu/possible on arm64 Lambda and the process aborts at
 * start. The config schema keeps the value, so the price table and the construct stay ready for the
 * day it works; the config check and the construct both refuse it with this text.
 */
export const ARM64_REFUSAL =
  'arm64 is refused: onnxruntime has been reported to abort at start on arm64 Lambda ' +
  "because cpuinfo cannot read /sys/devices/system/cpu/possible there (\"Attempt to use DefaultLogger\"), see " +
  'https://github.com/microsoft/onnxruntime/issues/10038, https://github.com/microsoft/onnxruntime/issues/15650 and ' +
  'https://github.com/pytorch/cpuinfo/issues/143 (all open). x86_64 works: use it (the default).';
