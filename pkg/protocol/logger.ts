// SPDX-License-Identifier: Apache-2.0
/*
 * hclog JSON lines on stderr, the log format Grafana's plugin host
 * (go-plugin's stderr reader) understands: one object per line with string
 * `@level`, `@message` and `@timestamp` (exactly six fractional digits, or
 * go-plugin falls back to treating the line as debug text), every other key a
 * field. stdout belongs to the handshake and is never written here.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  level: LogLevel;
  trace(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  with(fields: LogFields): Logger;
}

/** `2026-12-01T09:56:05.123000Z`: hclog's layout wants microseconds. */
export function hclogTimestamp(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

/** The level named by `GF_PLUGIN_LOG_LEVEL` (Grafana passes `[plugin.<id>] log_level` as that), else `info`. */
export function levelFromEnv(env: NodeJS.ProcessEnv): LogLevel {
  const v = (env.GF_PLUGIN_LOG_LEVEL ?? '').trim().toLowerCase();
  if (v === 'warning') {
    return 'warn';
  }
  return (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : 'info';
}

/** One JSON line; field values that cannot be serialised become their string form. */
export function formatLine(level: LogLevel, message: string, fields: LogFields, now: Date): string {
  const line: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k.startsWith('@')) {
      continue; // the @-keys are hclog's own and must stay strings
    }
    line[k] = v instanceof Error ? v.message : typeof v === 'bigint' ? v.toString() : v;
  }
  line['@level'] = level;
  line['@message'] = message;
  line['@timestamp'] = hclogTimestamp(now);
  try {
    return JSON.stringify(line) + '\n';
  } catch {
    return JSON.stringify({ '@level': level, '@message': message, '@timestamp': hclogTimestamp(now) }) + '\n';
  }
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
  base: LogFields = {}
): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const emit =
    (l: LogLevel) =>
    (message: string, fields: LogFields = {}) => {
      if (LOG_LEVELS.indexOf(l) >= rank) {
        write(formatLine(l, message, { ...base, ...fields }, new Date()));
      }
    };
  return {
    level,
    trace: emit('trace'),
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    with: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}
