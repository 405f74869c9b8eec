import pino, { type Logger } from 'pino';
import type { Config } from './config';

/** JSON logs to stdout. Credentials are redacted by path wherever they could appear. */
export function createLogger(config: Pick<Config, 'logLevel'>, destination: 1 | 2 = 1): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'manifest-gateway' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.password',
          '*.api_key',
          '*.token',
          '*.access_token',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: destination, sync: destination === 2 }),
  );
}
