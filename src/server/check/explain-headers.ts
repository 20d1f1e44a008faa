import { buildAuthRequest, type CheckView } from '../../translate';
import type { CompiledRule } from './compile-config';

/** What a rule does with headers for one request, for `explain`: nothing resolved from the environment is shown. */
export interface HeaderPlan {
  readonly dryRun: boolean;
  readonly authRequest: {
    /** Client headers this request would forward (token, allowed by name or matcher, trace context). */
    readonly forwarded: readonly string[];
    /** `request.headersToAdd` with values as written: `${NAME}` stays unresolved. */
    readonly added: Readonly<Record<string, string>>;
    /** Why the request would not be sent at all, when it would not. */
    readonly refused?: string;
  };
  /** What an OK does to the request that reaches the backend. */
  readonly upstream: {
    /** Overwritten with the auth service's value (`response.allowedHeaders`). */
    readonly set: readonly string[];
    /** Each value the auth service returns, appended (`response.appendHeaders`). */
    readonly appended: readonly string[];
    /** Always removed (`request.removeHeaders`), besides any the service names in x-envoy-auth-headers-to-remove. */
    readonly removed: readonly string[];
    /** Removed unless an auth service sets them on the request: every rule's vouched headers. */
    readonly removedUnlessSet: readonly string[];
  };
  readonly client: {
    readonly onSuccess: readonly string[];
    readonly onDenial: readonly string[] | 'all';
  };
  readonly dynamicMetadata: readonly string[];
}

export function explainHeaders(rule: CompiledRule, view: CheckView, vouchedHeaders: readonly string[]): HeaderPlan {
  const { request, response } = rule.settings;
  const built = buildAuthRequest(rule.settings, view, rule.headerMatchers);
  const added = Object.fromEntries(request.headersToAdd.map((h) => [h.name, h.written]));
  const forwarded = built.ok
    ? Object.keys(built.request.headers).filter((name) => name !== 'host' && name !== 'content-length' && !(name in added))
    : [];
  return {
    dryRun: rule.settings.dryRun,
    authRequest: {
      forwarded,
      added,
      ...(!built.ok && { refused: 'invalid' in built ? built.invalid : built.tooLarge }),
    },
    upstream: {
      set: response.allowedHeaders,
      appended: response.appendHeaders,
      removed: request.removeHeaders,
      removedUnlessSet: vouchedHeaders,
    },
    client: { onSuccess: response.clientHeadersOnSuccess, onDenial: response.clientHeaders ?? 'all' },
    dynamicMetadata: ['rule', 'reason', ...response.dynamicMetadata],
  };
}

/** The plan as lines for the CLI's text form. */
export function formatHeaderPlan(plan: HeaderPlan): string[] {
  const list = (names: readonly string[]): string => (names.length > 0 ? names.join(', ') : '-');
  const added = Object.entries(plan.authRequest.added).map(([name, value]) => `${name}: ${value}`);
  return [
    ...(plan.dryRun ? ['  dry run: a denial is logged and counted, never answered'] : []),
    `  auth request: forwards ${list(plan.authRequest.forwarded)}; adds ${list(added)}${plan.authRequest.refused ? ` (not sent: ${plan.authRequest.refused})` : ''}`,
    `  on OK upstream: sets ${list(plan.upstream.set)}; appends ${list(plan.upstream.appended)}; removes ${list(plan.upstream.removed)}`,
    `  to the client: on OK ${list(plan.client.onSuccess)}; on denial ${plan.client.onDenial === 'all' ? 'all' : list(plan.client.onDenial)}`,
  ];
}
