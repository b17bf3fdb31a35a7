import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs; credentials never leave the process even if a config object is logged by mistake. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'ser-ari' },
      redact: {
        paths: ['password', '*.password', '*.*.password', 'token', '*.token', '*.*.token', 'authorization', '*.authorization', 'secret', '*.secret', '*.*.secret'],
        censor: '[redacted]',
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
