import pino, { type Logger } from 'pino';

export type { Logger };

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
