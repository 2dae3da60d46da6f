import { formatBytes, formatDuration, TransferProgress } from '../../operator/model/transfer-progress';

/** A stream that records writes, and a clock the test moves. */
function fixture(isTTY: boolean) {
  const writes: string[] = [];
  let now = 0;
  const progress = new TransferProgress({ write: (text: string) => writes.push(text), isTTY }, 100_000_000, { now: () => now, redrawMs: 100 });
  return { writes, progress, advance: (ms: number) => (now += ms) };
}

describe('transfer progress', () => {
  test('on a terminal, one redrawn line with bytes, rate, time left and the current file', () => {
    const { writes, progress, advance } = fixture(true);
    progress.alreadyHave(20_000_000);
    progress.current('unet/model.onnx');
    advance(2000);
    progress.transferred(40_000_000);
    expect(writes.at(-1)).toBe('\r\x1b[K[##############..........] 60% 60.0 MB of 100.0 MB, 20.0 MB/s, ETA 0:02  unet/model.onnx');
    // Redraws are rate-limited; a note clears the bar, prints, and draws it again.
    const count = writes.length;
    progress.transferred(1);
    expect(writes).toHaveLength(count);
    progress.note('unet/model.onnx: downloaded');
    expect(writes.slice(count, count + 1)).toEqual(['\r\x1b[Kunet/model.onnx: downloaded\n']);
    expect(writes.at(-1)).toMatch(/^\r\x1b\[K\[/);
  });

  test('in a log, a plain line at each tenth of the total, none for bytes already there', () => {
    const { writes, progress, advance } = fixture(false);
    progress.alreadyHave(35_000_000);
    expect(writes).toEqual([]);
    advance(1000);
    progress.transferred(10_000_000);
    progress.transferred(1_000_000);
    advance(1000);
    progress.transferred(54_000_000);
    expect(writes).toEqual(['45% 45.0 MB of 100.0 MB, 10.0 MB/s, ETA 0:06\n', '100% 100.0 MB of 100.0 MB, 32.5 MB/s, ETA 0:00\n']);
  });

  test('sizes in decimal units, durations as m:ss or h:mm:ss', () => {
    expect([formatBytes(999), formatBytes(1000), formatBytes(3_444_929), formatBytes(2.13e9)]).toEqual(['999 B', '1.0 kB', '3.4 MB', '2.1 GB']);
    expect([formatDuration(0), formatDuration(83), formatDuration(3723)]).toEqual(['0:00', '1:23', '1:02:03']);
  });
});
