// SPDX-License-Identifier: Apache-2.0
/*
 * The services Grafana's core registers in @grafana/runtime before any plugin
 * runs, reduced to what a data source and a panel call: the HTTP client
 * (BackendSrv: `fetch` as an Observable, params serialised the way Grafana
 * does, failures as `{status, data}`), the data source registry and the
 * template service. Test doubles of Grafana core, named as such; the plugin
 * code they serve, and @grafana/data, @grafana/ui and @grafana/runtime
 * themselves, are the real ones.
 */
import type { DataSourceInstanceSettings, ScopedVars, TypedVariableModel } from '@grafana/data';
import {
  setBackendSrv,
  setDataSourceSrv,
  setTemplateSrv,
  type BackendSrv,
  type BackendSrvRequest,
  type DataSourceSrv,
  type FetchResponse,
  type TemplateSrv,
} from '@grafana/runtime';
import { Observable } from 'rxjs';

/** Repeated keys for lists (`pod=a&pod=b`), as Grafana's serializeParams. */
function serializeParams(params: Record<string, unknown> | undefined): string {
  if (!params) {
    return '';
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (one !== undefined && one !== null) {
        parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(one))}`);
      }
    }
  }
  return parts.join('&');
}

class HarnessBackendSrv {
  /** Every request the plugin made, for the tests to assert on (headers, bodies). */
  readonly requests: Array<{ method: string; url: string; body?: unknown }> = [];

  fetch<T>(options: BackendSrvRequest): Observable<FetchResponse<T>> {
    return new Observable<FetchResponse<T>>((subscriber) => {
      const query = serializeParams(options.params as Record<string, unknown>);
      const url = query ? `${options.url}${options.url.includes('?') ? '&' : '?'}${query}` : options.url;
      const method = (options.method ?? 'GET').toUpperCase();
      this.requests.push({ method, url, body: options.data });
      const controller = new AbortController();
      window
        .fetch(url, {
          method,
          headers: { 'Content-Type': 'application/json', ...(options.headers ?? {}) },
          body: options.data === undefined ? undefined : JSON.stringify(options.data),
          signal: controller.signal,
        })
        .then(async (res) => {
          const text = await res.text();
          let data: unknown = text;
          try {
            data = text ? JSON.parse(text) : undefined;
          } catch {
            // Not JSON: hand over the text, as Grafana's client does.
          }
          const response = {
            data: data as T,
            status: res.status,
            statusText: res.statusText,
            ok: res.ok,
            headers: res.headers,
            url,
            type: res.type,
            redirected: res.redirected,
            config: options,
          } as FetchResponse<T>;
          if (!res.ok) {
            subscriber.error({ ...response, message: (data as { message?: string })?.message ?? res.statusText });
            return;
          }
          subscriber.next(response);
          subscriber.complete();
        })
        .catch((err) => subscriber.error({ status: 0, data: { message: String(err) }, message: String(err) }));
      return () => controller.abort();
    });
  }

  async get<T>(url: string, params?: Record<string, unknown>): Promise<T> {
    return (await this.promise<T>({ url, params, method: 'GET' })).data;
  }

  async post<T>(url: string, data?: unknown): Promise<T> {
    return (await this.promise<T>({ url, data, method: 'POST' })).data;
  }

  datasourceRequest<T>(options: BackendSrvRequest) {
    return this.promise<T>(options);
  }

  private promise<T>(options: BackendSrvRequest): Promise<FetchResponse<T>> {
    return new Promise((resolve, reject) => this.fetch<T>(options).subscribe({ next: resolve, error: reject }));
  }
}

/** Dashboard variables, replaced the way Grafana's template service does for the cases plugins meet. */
class HarnessTemplateSrv implements TemplateSrv {
  constructor(private readonly values: Record<string, string | string[]>) {}

  replace(target?: string, scopedVars?: ScopedVars, format?: string | Function): string {
    return (target ?? '').replace(/\$\{(\w+)(?::[\w-]+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a, b, c) => {
      const name: string = a ?? b ?? c;
      const value = (scopedVars?.[name]?.value as string | string[] | undefined) ?? this.values[name];
      if (value === undefined) {
        return whole;
      }
      if (typeof format === 'function') {
        return format(value);
      }
      return Array.isArray(value) ? `{${value.join(',')}}` : value;
    });
  }

  getVariables(): TypedVariableModel[] {
    return Object.entries(this.values).map(
      ([name, value]) => ({ name, type: 'custom', current: { value, text: value } }) as unknown as TypedVariableModel
    );
  }

  containsTemplate(target?: string): boolean {
    return /\$\w+|\$\{\w+|\[\[\w+/.test(target ?? '');
  }

  updateTimeRange(): void {}
}

export function installGrafanaServices(
  instance: DataSourceInstanceSettings,
  variables: Record<string, string | string[]>
) {
  const backend = new HarnessBackendSrv();
  setBackendSrv(backend as unknown as BackendSrv);
  setTemplateSrv(new HarnessTemplateSrv(variables));
  const registry = {
    getInstanceSettings: () => instance,
    getList: () => [instance],
    get: async () => {
      throw new Error('the harness registry does not construct data sources');
    },
    reload: () => {},
    registerRuntimeDataSource: () => {},
  };
  setDataSourceSrv(registry as unknown as DataSourceSrv);
  return backend;
}
