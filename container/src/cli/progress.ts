/** Progress on stderr: a redrawn bar on a terminal, one line per step in logs. */
export class ProgressReporter {
  private readonly started = performance.now();

  constructor(private readonly stream: NodeJS.WriteStream) {}

  note(message: string): void {
    this.stream.write(`${message}\n`);
  }

  step(step: number, total: number): void {
    const elapsed = ((performance.now() - this.started) / 1000).toFixed(1);
    if (this.stream.isTTY) {
      const width = 30;
      const filled = Math.round((step / total) * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] step ${step}/${total} ${elapsed}s`);
    } else {
      this.stream.write(`step ${step}/${total} ${elapsed}s\n`);
    }
  }

  done(message: string): void {
    this.stream.write(`${this.stream.isTTY ? '\n' : ''}${message}\n`);
  }
}
