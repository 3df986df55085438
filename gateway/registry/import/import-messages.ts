/**
 * What a conversion from a Function Compute project file says about each field it could not
 * carry over. Every message names the field where the source file has it (so it is shown as
 * file:line:col) and why; docs/import.md lists them all.
 *
 * - `error`: the converted project would not behave as the source says in a way its code relies
 *   on (a runtime edgefc lacks, code in OSS, a container image): validate and deploy refuse it.
 * - `warning`: the field has no meaning on an edge box and is dropped (VPC, NAS, RAM role,
 *   cloud triggers): the function still runs, without it.
 * - `info`: carried over under another name or value (nodejs14 → nodejs20, an acs:fc ARN → fc://).
 */
import type { FieldPath } from '../template-fields.js';
import { formatPath } from '../template-fields.js';

export const ImportSeverity = { error: 'error', warning: 'warning', info: 'info' } as const;
export type ImportSeverity = (typeof ImportSeverity)[keyof typeof ImportSeverity];

export interface ImportMessage {
  severity: ImportSeverity;
  /** Path of the field in the source file, e.g. `resources.fcDemo.props.vpcConfig`. */
  source: FieldPath;
  reason: string;
}

/** `path: reason`, the text after file:line:col. */
export function messageText(message: ImportMessage): string {
  const field = formatPath(message.source);
  return field === '' ? message.reason : `${field}: ${message.reason}`;
}
