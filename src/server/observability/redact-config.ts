import { redactUrls, type AdapterSettings } from '../../config';

const REDACTED = '[redacted]';

/**
 * The effective settings for /config: private key locations and URL credentials are hidden
 * (a URL with credentials is refused when loading; this holds should that ever change), static
 * headers show their values as written (`${NAME}` unresolved, never the secret it stands for),
 * and rules keep only their settings.
 */
export function redactConfig(settings: AdapterSettings): unknown {
  return {
    ...settings,
    grpc: { ...settings.grpc, tls: settings.grpc.tls && { ...settings.grpc.tls, key: REDACTED } },
    rules: settings.rules.map((rule) => ({
      ...rule,
      request: { ...rule.request, headersToAdd: rule.request.headersToAdd.map((h) => h.toJSON()) },
      service: {
        ...rule.service,
        url: redactUrls(rule.service.url),
        tls: rule.service.tls && { ...rule.service.tls, key: rule.service.tls.key && REDACTED },
      },
    })),
  };
}
