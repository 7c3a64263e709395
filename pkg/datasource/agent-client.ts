// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP client for one agent's API (docs/api.md). Every request has a
 * deadline for the whole exchange, a bounded answer size and the token as a
 * Bearer header; every failure becomes an AgentError whose message is one
 * sentence naming the agent and what to do.
 */
import http from 'node:http';
import https from 'node:https';

import { BufferLedger } from '../protocol/free-now';
import { Agent } from './discovery';

export type AgentErrorKind =
  'refused' | 'unreachable' | 'timeout' | 'unauthorized' | 'rejected' | 'failed' | 'too_large' | 'not_wakeflow';

export class AgentError extends Error {
  constructor(
    readonly agent: string,
    readonly kind: AgentErrorKind,
    message: string,
    readonly status?: number
  ) {
    super(message);
  }
}

export interface ClientOptions {
  timeoutMs: number;
  token?: string;
  /** Largest answer read; beyond it the request is dropped. */
  maxBytes: number;
  /** The query's ledger: every answer body read is kept there, to be freed when the query's frames are written. */
  answers?: BufferLedger;
}

export const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** A Content-Length up to this is allocated at once; a bigger claim is believed only as the bytes come. */
const PREALLOCATE_MAX = 16 * 1024 * 1024;

const keepAlive = { keepAlive: true, maxSockets: 8, maxFreeSockets: 4, timeout: 30_000 };
const httpAgent = new http.Agent(keepAlive);
const httpsAgent = new https.Agent(keepAlive);

/** Closes idle keep-alive connections (on shutdown). */
export function closeConnections(): void {
  httpAgent.destroy();
  httpsAgent.destroy();
}

export type Params = Array<[string, string]>;

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function agentErrorSentence(body: string): string | undefined {
  try {
    const j = JSON.parse(body) as unknown;
    if (j && typeof j === 'object' && typeof (j as { error?: unknown }).error === 'string') {
      return (j as { error: string }).error.slice(0, 300);
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * Reads a 200 answer's bytes: the value, or undefined when they are not
 * what a wakeflow agent answers there (then 'not_wakeflow').
 */
export type AnswerReader<T> = (body: Buffer) => T | undefined;

/** A reader for small answers: JSON.parse, then `check` says whether it has a wakeflow agent's shape. */
export function jsonReader<T>(check: (body: unknown) => body is T): AnswerReader<T> {
  return (body) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return undefined;
    }
    return check(parsed) ? parsed : undefined;
  };
}

/**
 * The body's chunks in one buffer. With a Content-Length (the agent always
 * sends one) it is allocated once at its size and filled as chunks come, so
 * a 2 MB answer is not held twice while Buffer.concat copies it.
 */
class Body {
  private chunks: Buffer[] = [];
  private buf: Buffer | undefined;
  size = 0;
  constructor(expected: number) {
    if (expected > 0) {
      this.buf = Buffer.allocUnsafeSlow(expected);
    }
  }
  add(c: Buffer): void {
    if (this.buf && this.size + c.length <= this.buf.length) {
      c.copy(this.buf, this.size);
    } else {
      if (this.buf) {
        // More than announced: fall back to collecting chunks.
        this.chunks.push(this.buf.subarray(0, this.size));
        this.buf = undefined;
      }
      this.chunks.push(c);
    }
    this.size += c.length;
  }
  bytes(): Buffer {
    return this.buf ? this.buf.subarray(0, this.size) : Buffer.concat(this.chunks, this.size);
  }
}

/** GET `path?params` from the agent and read its answer with `read`. */
export function agentGet<T>(
  agent: Agent,
  path: string,
  params: Params,
  opts: ClientOptions,
  read: AnswerReader<T>
): Promise<T> {
  const query = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const target = new URL(agent.url + path + (query ? `?${query}` : ''));
  const isHttps = target.protocol === 'https:';
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'wakeflow-grafana-backend' };
  if (opts.token) {
    headers.Authorization = `Bearer ${opts.token}`;
  }

  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    const fail = (e: AgentError) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        req?.destroy();
        reject(e);
      }
    };
    const timer = setTimeout(
      () =>
        fail(
          new AgentError(
            agent.name,
            'timeout',
            `agent ${agent.name} did not answer within ${seconds(opts.timeoutMs)}; raise the timeout or check the node`
          )
        ),
      opts.timeoutMs
    );
    // One deadline covers both tries of send().
    const send = (isRetry: boolean) => {
      const sent = (isHttps ? https : http).request(target, {
        method: 'GET',
        headers,
        agent: isHttps ? httpsAgent : httpAgent,
      });
      req = sent;
      let answered = false;
      sent.on('response', () => {
        answered = true;
      });
      sent.on('error', (e: NodeJS.ErrnoException) => {
        const code = e.code ?? '';
        // A kept-alive connection that the agent closed as idle (after its
        // Keep-Alive timeout) just as this request went out on it: the agent
        // never read it, and a GET may be sent again (RFC 9112, 9.3.1), once,
        // on a new connection. A busy event loop can be late to drop such
        // a connection by more than http.Agent's margin.
        if (!settled && !answered && !isRetry && sent.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) {
          send(true);
          return;
        }
        failed(e);
      });
      listen(sent);
      sent.end();
    };
    const failed = (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      if (code === 'ECONNREFUSED') {
        fail(
          new AgentError(
            agent.name,
            'refused',
            `agent ${agent.name} refused the connection: is wakeflow-agent serve running and listening there?`
          )
        );
      } else if (code === 'ECONNRESET' || code === 'EPIPE') {
        fail(new AgentError(agent.name, 'unreachable', `agent ${agent.name} closed the connection before answering`));
      } else {
        fail(
          new AgentError(agent.name, 'unreachable', `agent ${agent.name} could not be reached (${code || e.message})`)
        );
      }
    };
    const listen = (sent: http.ClientRequest) =>
      sent.on('response', (res) => {
        const announced = Number(res.headers['content-length'] ?? 0);
        const body = new Body(Number.isInteger(announced) && announced <= PREALLOCATE_MAX ? announced : 0);
        res.on('data', (c: Buffer) => {
          if (settled) {
            return;
          }
          if (body.size + c.length > opts.maxBytes) {
            fail(
              new AgentError(
                agent.name,
                'too_large',
                `agent ${agent.name} answered more than ${Math.round(opts.maxBytes / 1048576)} MiB; narrow the query (time range, filters, limit)`
              )
            );
            return;
          }
          body.add(c);
        });
        res.on('error', () =>
          fail(new AgentError(agent.name, 'unreachable', `agent ${agent.name} closed the connection while answering`))
        );
        res.on('end', () => {
          if (settled) {
            return;
          }
          const bytes = body.bytes();
          const status = res.statusCode ?? 0;
          // Only an error answer is searched for the agent's sentence: parsing a big success twice cost more than the merge.
          const said = status === 200 ? undefined : agentErrorSentence(bytes.toString('utf8'));
          if (status === 401) {
            fail(
              new AgentError(
                agent.name,
                'unauthorized',
                `agent ${agent.name} refused the token (401): set the data source's agent token to the content of the agent's --token-file`,
                401
              )
            );
          } else if (status >= 400 && status < 500 && said !== undefined) {
            fail(
              new AgentError(
                agent.name,
                'rejected',
                `agent ${agent.name} rejected the request (${status}): ${said}`,
                status
              )
            );
          } else if (status >= 500 && said !== undefined) {
            fail(new AgentError(agent.name, 'failed', `agent ${agent.name} failed (${status}): ${said}`, status));
          } else if (status !== 200) {
            fail(
              new AgentError(
                agent.name,
                status >= 500 ? 'failed' : 'not_wakeflow',
                `agent ${agent.name} answered HTTP ${status}${status >= 500 ? '' : ' without a wakeflow error: is this URL a wakeflow agent?'}`,
                status
              )
            );
          } else {
            let value: T | undefined;
            try {
              value = read(bytes);
            } catch (e) {
              fail(
                new AgentError(agent.name, 'failed', `agent ${agent.name}: reading its answer failed (${String(e)})`)
              );
              return;
            }
            if (value !== undefined) {
              opts.answers?.keep(bytes);
              settled = true;
              clearTimeout(timer);
              resolve(value);
            } else {
              fail(
                new AgentError(
                  agent.name,
                  'not_wakeflow',
                  `agent ${agent.name} answered ${path} with something that is not a wakeflow agent's JSON: is this URL a wakeflow agent?`,
                  status
                )
              );
            }
          }
        });
      });
    send(false);
  });
}
