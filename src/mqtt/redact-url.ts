/**
 * A broker URL as it may be shown or logged: a password in it is replaced by `***`
 * (`mqtt://user:secret@host` → `mqtt://user:***@host`). Secrets are never printed (docs/security.md).
 */
export function redactUrl(url: string): string {
  // A broker list (broker-list.ts): each entry on its own.
  if (url.includes(',')) return url.split(',').map((entry) => redactOne(entry)).join(',');
  return redactOne(url);
}

function redactOne(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    // Not a URL: hide anything between "//" and "@" that looks like user:password.
    return url.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
  }
}
