/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus framing
 * headers the adapter sets itself. They are never copied between the two HTTP hops.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
