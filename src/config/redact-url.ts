/**
 * `scheme://user:password@` or `scheme://token@`, also inside a URL that does not parse (a
 * space in the host, say), which is exactly when an error echoes it.
 */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"':]*)(?::([^\s/?#@"']*))?@/gi;

/**
 * Hides the credentials of every URL in `text`: `http://admin:***@auth:8000`, or
 * `http://***@auth:8000` when the user name alone is the secret. Used on every message that
 * could echo a configured URL: config errors, logs, /config and `explain`.
 */
export function redactUrls(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(USERINFO, (_all, scheme: string, user: string, password: string | undefined) =>
    password === undefined ? `${scheme}***@` : `${scheme}${user}:***@`,
  );
}
