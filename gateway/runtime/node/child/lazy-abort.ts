/**
 * The abort side of `context.signal`, made only when the handler first reads the signal: most
 * handlers never do, and an AbortController per call was ~3 % of the gateway's CPU for an
 * in-process function at 64 calls in flight (BENCHMARKS.md). A signal read after the abort
 * comes out already aborted, with the same reason.
 */
export class LazyAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
