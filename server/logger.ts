import pino, { type Logger } from 'pino';

export type { Logger };

/** `pretty`: coloured, one readable line per event (a person at a terminal); `json`: one JSON object per line. */
export type LogFormat = 'json' | 'pretty';

/**
 * The process's logger on stdout: pretty when `format` says so (LOG_FORMAT, or by default when
 * stdout is a terminal), JSON otherwise. pino-pretty is loaded only then, and formats in this
 * thread (no transport worker): a person at a terminal does not need the throughput of a
 * production log pipeline, and a production process never loads it.
 */
export async function createProcessLogger(level: string, format: LogFormat): Promise<Logger> {
  if (format === 'json') return createLogger(level);
  const { default: pretty } = await import('pino-pretty');
  return createLogger(level, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true }));
}

/**
 * Structured JSON logs. Payloads and secrets are never passed to the logger; the redact list
 * is a second line of defence for fields that could carry them by mistake.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'secret',
          '*.secret',
          'apiKey',
          '*.apiKey',
          'data',
          '*.data',
          'body',
          '*.body',
          'clientKeyPem',
          '*.clientKeyPem',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
