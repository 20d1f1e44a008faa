import { Issues, parseConfigText, type RuleSettings } from '../../src/config';
import { readCheckRequest, type CheckView, type HttpRequestMessage } from '../../src/translate';

/** One rule's settings from YAML lines placed under `- name: r`; the service is never called. */
export function ruleSettings(extra = '', service = '{ url: "http://127.0.0.1:1", path: /auth }'): RuleSettings {
  const issues = new Issues();
  const settings = parseConfigText(`rules:\n  - name: r\n    service: ${service}\n${extra}`, issues);
  expect(issues.list).toEqual([]);
  return settings!.rules[0];
}

/** A CheckView of an HTTP request; throws if the request is not readable. */
export function viewOf(http: HttpRequestMessage): CheckView {
  const view = readCheckRequest({ attributes: { request: { http } } });
  if ('invalid' in view) throw new Error(view.invalid);
  return view;
}
