/** `cdk deploy` builds the engine image locally, for linux/amd64 (SageMaker's hosts are x86_64). */
import type { Check } from '../check';

export const docker: Check = {
  name: 'Docker',
  usesAws: false,
  async run(context) {
    // The CDK CLI builds with $CDK_DOCKER when set (finch, podman), else docker.
    const command = process.env.CDK_DOCKER || 'docker';
    const version = await context.run(command, ['version', '--format', '{{.Server.Version}}']);
    if (version.missing) {
      return { status: 'fail', message: `\`${command}\` is not installed; the deploy builds the engine image with it`, fix: 'install Docker (or set CDK_DOCKER to another builder)' };
    }
    if (version.exitCode !== 0) {
      return {
        status: 'fail',
        message: `the Docker daemon does not answer (${firstLine(version.stderr) || `exit code ${version.exitCode}`})`,
        fix: 'start Docker (Docker Desktop, or `sudo systemctl start docker`) and make sure this user may use it',
      };
    }
    const server = version.stdout.trim();
    const builders = await context.run(command, ['buildx', 'ls']);
    if (builders.exitCode === 0) {
      if (/linux\/amd64/.test(builders.stdout)) return { status: 'pass', message: `Docker ${server} builds linux/amd64` };
      return {
        status: 'fail',
        message: `Docker ${server} has no builder for linux/amd64, the platform SageMaker runs`,
        fix: 'docker run --privileged --rm tonistiigi/binfmt --install amd64',
      };
    }
    if (context.arch === 'x64') {
      return {
        status: 'warn',
        message: `Docker ${server} without buildx: the legacy builder makes linux/amd64 natively on this x86_64 machine`,
        fix: 'install the buildx plugin (docker-buildx-plugin) for BuildKit builds',
      };
    }
    return {
      status: 'fail',
      message: `Docker ${server} without buildx cannot build linux/amd64 on this ${context.arch} machine`,
      fix: 'install the buildx plugin, then: docker run --privileged --rm tonistiigi/binfmt --install amd64',
    };
  },
};

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
