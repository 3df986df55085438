/**
 * The JetStream buckets that hold a cluster's deployments (docs/cluster.md "Deployments"):
 *
 *   KV `edgefc-deployments`   key `current`: the deployment served and the history (cluster-deployment-record.ts)
 *   object store `edgefc-bundles`   one object per bundle, named by its sha256 (§9.9.1)
 *   KV `edgefc-uploads`   deploy uploads in progress (cluster-uploads.ts), so each chunk may reach any gateway
 *   KV `edgefc-access`   key `file`: the access file every gateway keeps (cluster-access.ts)
 *   KV `edgefc-versions`   a key per service: its versions and aliases (cluster-versions.ts, §9.14–§9.15)
 *
 * Created by the first gateway that finds them missing (create opens an existing bucket as it
 * is). Replicated like the rest of the cluster's state: R3 in a cluster, R1 on a single node,
 * unless `replicas` says otherwise. Only the gateway's login may use the JetStream, KV and object
 * subjects (gateway/security/nats-config.ts, docs/security.md §11).
 *
 * nats.js's JetStream, KV and object store modules are loaded here, by dynamic import, and only
 * in NATS mode: a single-box gateway loads none of them.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import { ServiceUnavailableError } from 'edgefc/errors';

export const DEPLOYMENTS_BUCKET = 'edgefc-deployments';
export const BUNDLES_BUCKET = 'edgefc-bundles';
export const UPLOADS_BUCKET = 'edgefc-uploads';
export const ACCESS_BUCKET = 'edgefc-access';
export const VERSIONS_BUCKET = 'edgefc-versions';

/**
 * How long an upload's chunks are kept from their write: a whole upload of the largest bundle
 * (64 MiB, 256 chunks) takes well under a minute on a LAN, so an hour only bounds what an
 * abandoned one holds. The 10-minute idle limit of §9.9.3 is checked by the gateways on top.
 */
const UPLOAD_TTL_MS = 60 * 60 * 1000;

export interface ClusterBuckets {
  deployments: KV;
  bundles: ObjectStore;
  uploads: KV;
  access: KV;
  versions: KV;
  /** The replicas they were created with (or asked for, when they existed already). */
  replicas: number;
}

/**
 * R3 when the server says it is part of a cluster (a route-connected set of nodes), R1 alone: a
 * single node cannot place three replicas and would refuse the bucket.
 */
export function defaultReplicas(nc: NatsConnection): number {
  return nc.info?.cluster === undefined ? 1 : 3;
}

export async function openClusterBuckets(nc: NatsConnection, replicas = defaultReplicas(nc)): Promise<ClusterBuckets> {
  const [{ Kvm }, { Objm }] = await Promise.all([import('@nats-io/kv'), import('@nats-io/obj')]);
  try {
    const kvm = new Kvm(nc);
    const deployments = await kvm.create(DEPLOYMENTS_BUCKET, { replicas, history: 1, description: 'edgefc: the deployment every gateway serves, and its history' });
    const uploads = await kvm.create(UPLOADS_BUCKET, { replicas, history: 1, ttl: UPLOAD_TTL_MS, description: 'edgefc: deploy uploads in progress (§9.9)' });
    const access = await kvm.create(ACCESS_BUCKET, { replicas, history: 1, description: 'edgefc: the access file every gateway keeps (docs/security.md §11)' });
    // Read from the leader: a publish is a read then a compare-and-set, and a lagging replica's
    // read would only make it lose and read again (as the Async record bucket, jetstream-setup.ts).
    const versions = await kvm.create(VERSIONS_BUCKET, { replicas, history: 1, allow_direct: false, description: 'edgefc: service versions and aliases, a key per service (§9.14, §9.15)' });
    const bundles = await new Objm(nc).create(BUNDLES_BUCKET, { replicas, description: 'edgefc: deploy bundles by sha256 (§9.9.1)' });
    return { deployments, bundles, uploads, access, versions, replicas };
  } catch (error) {
    throw new ServiceUnavailableError(`cannot open the cluster's deployment buckets (JetStream, R${replicas}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
