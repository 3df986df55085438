/**
 * Creates, or brings to this gateway's settings, the stream, the shared consumer and the record
 * bucket of the cluster's Async queue (./names.ts; docs/cluster.md "Async calls"). Every gateway
 * does this at start; the settings are the same on every gateway of a cluster started alike.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ServiceUnavailableError } from 'edgefc/errors';
import { ASYNC_LIMITS } from '../../registry/template-schema.js';
import { RecordBucket } from './record-bucket.js';
import { ASYNC_CALL_SUBJECTS, ASYNC_CONSUMER, ASYNC_STREAM, RECORD_BUCKET } from './names.js';

export interface JetStreamQueueSettings {
  /**
   * Copies of the stream and the record bucket, on different nodes: an accepted call survives
   * the loss of all but one. 1 for a single node.
   * @default 3 in a cluster, 1 on a single node (JetStreamQueue.connect: cluster/cluster-buckets.ts defaultReplicas)
   */
  replicas: number;
  /**
   * How long a delivered call may go without an acknowledgement or a sign of progress before
   * the cluster gives it to another gateway: the time a gateway's death delays its calls. Runs
   * longer than this are kept by in-progress acks every third of it.
   * @default 30_000
   */
  ackWaitMs: number;
  /**
   * Re-sends of the same (client, request ID) within this window are answered as duplicates by
   * the stream itself (Nats-Msg-Id); later ones by the record bucket (§10.2).
   * @default 600_000 (10 min)
   */
  duplicateWindowMs: number;
  /** How long a record is kept after its last change (the bucket's TTL). @default 7 days */
  recordTtlMs: number;
  /**
   * How often each gateway looks for accepted calls the stream no longer holds, and publishes
   * them again from their records (./lost-call-check.ts); also how old a record must be to be
   * looked at. Each pass reads every record of the bucket once.
   * @default 120_000
   */
  lostCallCheckMs: number;
}

export const DEFAULT_JETSTREAM_SETTINGS: JetStreamQueueSettings = {
  replicas: 3,
  ackWaitMs: 30_000,
  duplicateWindowMs: 600_000,
  recordTtlMs: 7 * 24 * 3600 * 1000,
  lostCallCheckMs: 120_000,
};

export interface JetStreamQueueHandles {
  js: JetStreamClient;
  jsm: JetStreamManager;
  consumer: Consumer;
  records: RecordBucket;
}

const nanos = (ms: number): number => ms * 1_000_000;

export async function setUpJetStreamQueue(nc: NatsConnection, settings: JetStreamQueueSettings): Promise<JetStreamQueueHandles> {
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, {
      name: ASYNC_STREAM,
      subjects: [ASYNC_CALL_SUBJECTS],
      // Work queue: a call leaves the stream once a gateway acknowledges it (run and recorded).
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: settings.replicas,
      duplicate_window: nanos(settings.duplicateWindowMs),
      // No call may wait longer than the longest maxAsyncEventAgeInSeconds (§10.4); the
      // function's own, shorter age is checked when the call is delivered.
      max_age: nanos(ASYNC_LIMITS.maxAsyncEventAgeInSeconds.max * 1000),
      // A full stream refuses new calls (the publish fails: no "accepted"), never drops old ones.
      discard: DiscardPolicy.New,
    });
    const consumerConfig = {
      durable_name: ASYNC_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(settings.ackWaitMs),
      // Attempts are the gateway's to count per function (maxAsyncRetryAttempts differs per
      // function; one consumer has one max_deliver): unlimited here, so a call is never left
      // undelivered in the stream; the gateway fails it once its attempts are used.
      max_deliver: -1,
      max_ack_pending: 20_000,
    };
    try {
      await jsm.consumers.add(ASYNC_STREAM, consumerConfig);
    } catch {
      await jsm.consumers.update(ASYNC_STREAM, ASYNC_CONSUMER, { ack_wait: consumerConfig.ack_wait, max_ack_pending: consumerConfig.max_ack_pending });
    }
    const js = jetstream(nc);
    const kv = await new Kvm(js).create(RECORD_BUCKET, {
      replicas: settings.replicas,
      history: 1,
      ttl: settings.recordTtlMs,
      storage: StorageType.File,
      // Reads from the leader only: a direct get may be answered by a replica that lags (a node
      // just back from a kill), and a compare-and-set over its stale revision then failed again
      // and again (seen in the kill test).
      allow_direct: false,
    });
    return { js, jsm, consumer: await js.consumers.get(ASYNC_STREAM, ASYNC_CONSUMER), records: new RecordBucket(kv) };
  } catch (error) {
    throw new ServiceUnavailableError(`cannot set up the cluster's Async stream, consumer and record bucket: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch {
    await jsm.streams.add(config);
    return;
  }
  await jsm.streams.update(config.name, config);
}
