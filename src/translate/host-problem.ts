/**
 * A host is read the same way by every backend only when it is a DNS name or an IP literal
 * with an optional port. Anything else (a "%", a space, a control character, a second ":")
 * is a host that some backend, virtual-host router or log parser could read as another
 * host, so such a request needs authentication under every rule.
 */
const NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;
const PORT = /^\d{1,5}$/;

/** Why `host` (`:authority`, port included) is not a plain host, or undefined when it is. */
export function hostProblem(host: string): string | undefined {
  if (host === '') return 'the host is empty';
  let name = host;
  const colon = host.lastIndexOf(':');
  if (colon !== -1 && colon > host.lastIndexOf(']')) {
    if (!PORT.test(host.slice(colon + 1))) return `the host ${JSON.stringify(host)} has a port that is not 1 to 5 digits`;
    name = host.slice(0, colon);
  }
  if (NAME.test(name) || IPV6.test(name)) return undefined;
  return `the host ${JSON.stringify(host)} is neither a DNS name nor an IP literal (with an optional port)`;
}
