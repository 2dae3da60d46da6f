/**
 * One JSON object per line on stdout, which CloudWatch Logs Insights queries directly. Hand-written
 * because the server needs only this; a logging library would add a dependency to the image for
 * nothing we use.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createJsonLogger(
  level: LogLevel = (process.env.LOG_LEVEL?.toLowerCase() as LogLevel | undefined) ?? 'info',
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const threshold = ORDER[level] ?? ORDER.info;
  const log = (entryLevel: LogLevel) => (message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[entryLevel] < threshold) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: entryLevel, message, ...fields })}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
