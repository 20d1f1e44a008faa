import type { DecodedCheckResponse } from '../helpers/check-client';

/** A CheckResponse reduced to what a test asserts exactly: code, reason, headers, status, body. */
export interface Summary {
  readonly code: number;
  readonly message: string;
  readonly set?: Array<[string, string]>;
  readonly remove?: string[];
  readonly deniedStatus?: number;
  readonly deniedHeaders?: Array<[string, string]>;
  readonly body?: string;
}

export function summarize(res: DecodedCheckResponse): Summary {
  const code = res.status?.code ?? 0;
  const message = res.status?.message ?? '';
  if (res.denied_response) {
    return {
      code,
      message,
      deniedStatus: res.denied_response.status?.code ?? 0,
      deniedHeaders: (res.denied_response.headers ?? []).map((h) => [h.header.key, h.header.value]),
      body: res.denied_response.body ?? '',
    };
  }
  return {
    code,
    message,
    set: (res.ok_response?.headers ?? []).map((h) => [h.header.key, h.header.value]),
    remove: [...(res.ok_response?.headers_to_remove ?? [])].sort(),
  };
}

/** The value of ext_authz_auth_service_errors_total for one rule and kind, 0 when absent. */
export function authErrorCount(metricsText: string, rule: string, kind: string): number {
  const prefix = `ext_authz_auth_service_errors_total{rule="${rule}",kind="${kind}"} `;
  const line = metricsText.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.slice(prefix.length)) : 0;
}

/** `ext_authz_auth_service_retries_total` of one rule in a /metrics text; 0 when absent. */
export function retryCount(metricsText: string, rule: string): number {
  const prefix = `ext_authz_auth_service_retries_total{rule="${rule}"} `;
  const line = metricsText.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.slice(prefix.length)) : 0;
}
