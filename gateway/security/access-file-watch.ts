/**
 * Re-read the access file as soon as it changes (`edgefc users`), not only at the next CONNECT
 * the embedded broker sees: behind an external broker the gateway sees no CONNECT at all, yet
 * it needs each principal's role and groups for every call (call-policy.ts). Without this, a
 * device added with `edgefc users add` (and let in by Mosquitto after broker-config and a
 * reload) was AccessDenied until the gateway restarted.
 *
 * The directory is watched, not the file: the access file is replaced by a rename
 * (access-file.ts), which a watch on the old file's inode would miss.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { AccessControl } from './access-control.js';

export interface AccessFileWatch {
  close(): void;
}

export function watchAccessFile(access: AccessControl, onError: (error: unknown) => void): AccessFileWatch {
  const name = basename(access.path);
  let watcher: FSWatcher;
  try {
    // Not persistent: it must not keep a stopped gateway's process alive.
    watcher = watch(dirname(access.path), { persistent: false }, (_event, file) => {
      if (file === null || file === name) access.refresh().catch(onError);
    });
  } catch (error) {
    onError(error);
    return { close: () => undefined };
  }
  watcher.on('error', onError);
  // A change made while the gateway was starting, before the watch began.
  access.refresh().catch(onError);
  return { close: () => watcher.close() };
}
