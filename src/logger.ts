import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config';

/**
 * stdout is written in batches (README "Metrics and access log", "Log buffering"): lines collect in
 * sonic-boom's buffer and go out in one `write(2)` once it holds BUFFER_BYTES, or LINGER_MS after the first
 * line of a batch, whichever comes first (warnings and errors at once). One write per line (the access log writes one per request) was
 * 8 % of a W2 request's CPU (bench/README.md "Per-request overhead").
 */
const BUFFER_BYTES = 8192;
const LINGER_MS = 25;

/**
 * A buffered stdout that never loses a line to an exit: the batches are written synchronously (no write is
 * ever in flight in libuv's thread pool when the process ends, as it could be with `sync: false`), and the
 * process's `exit` event — `process.exit()` after a graceful shutdown, an uncaught exception, the end of the
 * event loop — writes what is still buffered. Only SIGKILL (or a crash of the runtime itself) can lose the
 * last ≤ LINGER_MS of lines.
 */
export function bufferedStdout(fd = 1): DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  const sonic = pino.destination({ fd, sync: true, minLength: BUFFER_BYTES });
  let timer: NodeJS.Timeout | undefined;
  const flushNow = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    sonic.flush();
  };
  process.once('exit', () => {
    if (timer) clearTimeout(timer);
    try {
      sonic.flushSync();
    } catch {
      /* the reader is gone (EPIPE): nothing left to write to */
    }
  });
  return {
    write(line: string) {
      sonic.write(line);
      // Warnings and errors (pino writes `{"level":40` … first) go out at once, with whatever info lines
      // are buffered before them: rare lines an operator or a test reads the moment they happen. Only the
      // frequent info lines (the access log) wait for a batch.
      if (line.charCodeAt(9) >= 52 /* '4' */ && line.startsWith('{"level":')) {
        flushNow();
        return;
      }
      if (timer === undefined) {
        timer = setTimeout(flushNow, LINGER_MS);
        timer.unref();
      }
    },
    flush(cb) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      sonic.flush(cb);
    },
  };
}

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
    // stderr (the CLI's log): unbuffered, each line written at once.
    destination === 2 ? pino.destination({ fd: 2, sync: true }) : bufferedStdout(destination),
  );
}
