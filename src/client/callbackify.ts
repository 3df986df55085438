/**
 * The one place that adapts a promise to a Node-style callback (LinkEdge's
 * `invokeFunction(params, callback)`), so there are no twin implementations.
 *
 * The callback's error is always an `EdgeFCError` (anything else is converted with
 * `toEdgeFCError`), so a TypeScript caller can read `err.code` without a cast.
 *
 * The callback runs on its own tick, outside the promise chain: if it throws, the error surfaces
 * as an uncaught exception, as it would with any callback API, instead of vanishing into an
 * unhandled rejection.
 */
import { toEdgeFCError, type EdgeFCError } from '../errors.js';

export type NodeCallback<T> = (error: EdgeFCError | null, value?: T) => void;

export function callbackify<T>(promise: Promise<T>, callback: NodeCallback<T>): void {
  promise.then(
    (value) => {
      process.nextTick(callback, null, value);
    },
    (error: unknown) => {
      process.nextTick(callback, toEdgeFCError(error));
    },
  );
}
