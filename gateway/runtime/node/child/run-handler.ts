/**
 * Calling a handler or initializer with FC's callback semantics, and promise-returning ones too.
 *
 * - `callback(err, data)`: only the first call counts. err not null/undefined → handled error.
 * - A returned promise: its value is the result, its rejection an unhandled error. Whichever of
 *   callback and promise settles first wins, except that a promise resolving to `undefined` from
 *   a function that declares the callback parameter waits for the callback (an `async` handler
 *   that still uses `callback` from inside a timer).
 * - A synchronous throw is an unhandled error.
 * - A non-promise return value is ignored: synchronous handlers answer through the callback.
 */
export type HandlerOutcome =
  | { kind: 'ok'; value: unknown }
  | { kind: 'handled'; error: unknown }
  | { kind: 'unhandled'; error: unknown };

export type Callback = (err?: unknown, data?: unknown) => void;

/**
 * @param call invokes the user function with the callback appended to its arguments.
 * @param callbackArity the parameter count at which the function is taken to use the callback:
 *   3 for `handler(event, context, callback)`, 2 for `initializer(context, callback)`.
 */
export function runWithCallback(
  fn: (...args: unknown[]) => unknown,
  args: unknown[],
  callbackArity: number,
): Promise<HandlerOutcome> {
  return new Promise<HandlerOutcome>((resolve) => {
    let settled = false;
    const settle = (outcome: HandlerOutcome): void => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const callback: Callback = (err, data) => {
      if (err !== null && err !== undefined) settle({ kind: 'handled', error: err });
      else settle({ kind: 'ok', value: data });
    };
    let returned: unknown;
    try {
      returned = fn(...args, callback);
    } catch (err) {
      settle({ kind: 'unhandled', error: err });
      return;
    }
    if (isThenable(returned)) {
      const usesCallback = fn.length >= callbackArity;
      // Promise.resolve adopts any thenable and turns a throwing `then` into a rejection.
      Promise.resolve(returned).then(
        (value) => {
          if (value === undefined && usesCallback) return;
          settle({ kind: 'ok', value });
        },
        (err: unknown) => settle({ kind: 'unhandled', error: err }),
      );
    }
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
