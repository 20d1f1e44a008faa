/**
 * An HTTP token (RFC 9110 §5.6.2): what a method or a header field name may be. The one
 * definition for config header names, the matcher's header names and the auth request's
 * method and header names.
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isHttpToken(text: string): boolean {
  return TOKEN.test(text);
}
