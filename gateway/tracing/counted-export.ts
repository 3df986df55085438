/**
 * A bound on the spans waiting for export, and a count of what became of every finished span
 * (exported, dropped at a full queue, failed), around the SDK's batch span processor and OTLP
 * exporter. Through the SDK's stable interfaces (SpanProcessor, SpanExporter) only.
 *
 * The batch processor has a bounded queue of its own, but drops past it without telling anyone
 * but its debug log; here a span is admitted only while fewer than `maxQueueSize` wait (ended,
 * not yet handed to the exporter), so the inner queue never fills and every drop is counted.
 */
import type { Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExportStats } from './call-tracer.js';

export interface ExportCounter {
  readonly stats: SpanExportStats;
  /** Spans ended and not yet handed to the exporter. */
  waiting: number;
}

/** The exporter, counting each batch's outcome. */
export class CountingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #counter: ExportCounter;
  readonly #onFailure: (error: Error | undefined) => void;

  constructor(inner: SpanExporter, counter: ExportCounter, onFailure: (error: Error | undefined) => void) {
    this.#inner = inner;
    this.#counter = counter;
    this.#onFailure = onFailure;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const count = spans.length;
    this.#counter.waiting -= count;
    this.#inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this.#counter.stats.exported += count;
      } else {
        if (this.#counter.stats.failed === 0) this.#onFailure(result.error);
        this.#counter.stats.failed += count;
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** The batch processor, behind a bound of `maxQueueSize` waiting spans. */
export class BoundedSpanProcessor implements SpanProcessor {
  readonly #inner: SpanProcessor;
  readonly #counter: ExportCounter;
  readonly #maxQueueSize: number;
  readonly #onFirstDrop: () => void;

  constructor(inner: SpanProcessor, counter: ExportCounter, maxQueueSize: number, onFirstDrop: () => void) {
    this.#inner = inner;
    this.#counter = counter;
    this.#maxQueueSize = maxQueueSize;
    this.#onFirstDrop = onFirstDrop;
  }

  onStart(span: Span, parentContext: Context): void {
    this.#inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (this.#counter.waiting >= this.#maxQueueSize) {
      if (this.#counter.stats.queueFull === 0) this.#onFirstDrop();
      this.#counter.stats.queueFull += 1;
      return;
    }
    this.#counter.waiting += 1;
    this.#inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}
