/**
 * The admin audit log (docs/security.md §5): one JSON line per admin operation asked for, with
 * the principal that asked and what came of it, appended to `<data>/audit.log` (mode 0600).
 * Arguments are recorded by name and shape only where they could carry secrets; admin
 * operations carry none today (a deploy names a template path).
 */
import { appendFile } from 'node:fs/promises';

export interface AuditEntry {
  principal: string;
  clientId: string;
  operation: string;
  args: Record<string, unknown>;
  outcome: 'ok' | 'denied' | 'failed';
  /** The error code when not ok. */
  code?: string;
}

export type AuditSink = (entry: AuditEntry) => void;

export interface AuditLogOptions {
  onError: (error: unknown) => void;
  now?: () => Date;
}

/** Lines are written in order, one append at a time; a failed write is reported, never thrown. */
export function createAuditLog(path: string, options: AuditLogOptions): { sink: AuditSink; flush: () => Promise<void> } {
  let chain: Promise<void> = Promise.resolve();
  const now = options.now ?? (() => new Date());
  return {
    sink(entry) {
      const line = `${JSON.stringify({ time: now().toISOString(), ...entry })}\n`;
      chain = chain.then(() => appendFile(path, line, { mode: 0o600 })).catch(options.onError);
    },
    flush: () => chain,
  };
}
