import { pino, type Logger } from 'pino';
import { redactRecord, redactUrlUserinfo } from './redact-url.js';

export type { Logger };

/**
 * JSON logs; credentials never leave the process even if a config object is logged by mistake, and a
 * URL's user info (`http://user:password@host`) is replaced wherever it appears in a field or message.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'ser-ari' },
      redact: {
        paths: ['password', '*.password', '*.*.password', 'token', '*.token', '*.*.token', 'authorization', '*.authorization', 'secret', '*.secret', '*.*.secret'],
        censor: '[redacted]',
      },
      formatters: { log: (obj) => redactRecord(obj) },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = redactUrlUserinfo(args[i] as string);
          return method.apply(this, args as Parameters<typeof method>);
        },
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
