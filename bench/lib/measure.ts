/**
 * One measured run of a client against a target, with the CPU every process on the path spent
 * during it (µs per completed call): client, gateway (and its function processes), raw
 * responder, Mosquitto.
 */
import type { RunArgs, RunResult } from '../workers/client.js';
import type { BenchClient, BenchGateway, BenchResponder } from './context.js';
import { processCpuUs } from './proc.js';

/** What a client talks to, and the processes whose CPU is charged to it. */
export interface Target {
  key: string;
  label: string;
  client: BenchClient;
  gateway?: BenchGateway;
  responder?: BenchResponder;
  /** Mosquitto's pid when the path goes through it. */
  brokerPid?: number;
}

export interface CpuPerCall {
  clientUs: number;
  gatewayUs?: number;
  functionUs?: number;
  responderUs?: number;
  brokerUs?: number;
}

export interface MeasuredRun {
  result: RunResult;
  cpu: { clientUs: number; gatewayUs: number; functionUs: number; responderUs: number; brokerUs: number };
}

export async function measure(target: Target, args: RunArgs): Promise<MeasuredRun> {
  const snapshot = async (): Promise<MeasuredRun['cpu']> => {
    const [clientUs, gateway, responder] = await Promise.all([
      target.client.cpuUs(),
      target.gateway?.usage(),
      target.responder?.usage(),
    ]);
    return {
      clientUs,
      gatewayUs: gateway?.cpuUs ?? 0,
      functionUs: gateway?.children.cpuUs ?? 0,
      responderUs: responder?.cpuUs ?? 0,
      brokerUs: target.brokerPid === undefined ? 0 : processCpuUs(target.brokerPid),
    };
  };
  const before = await snapshot();
  const result = await target.client.run(args);
  const after = await snapshot();
  return {
    result,
    cpu: {
      clientUs: after.clientUs - before.clientUs,
      gatewayUs: after.gatewayUs - before.gatewayUs,
      functionUs: after.functionUs - before.functionUs,
      responderUs: after.responderUs - before.responderUs,
      brokerUs: after.brokerUs - before.brokerUs,
    },
  };
}

/** Sum CPU over runs and divide by the calls they completed. */
export function cpuPerCall(target: Target, runs: readonly MeasuredRun[]): CpuPerCall {
  const calls = runs.reduce((sum, run) => sum + run.result.total, 0) || 1;
  const sum = (pick: (run: MeasuredRun) => number): number => Math.round((runs.reduce((total, run) => total + pick(run), 0) / calls) * 10) / 10;
  const out: CpuPerCall = { clientUs: sum((run) => run.cpu.clientUs) };
  if (target.gateway !== undefined) {
    out.gatewayUs = sum((run) => run.cpu.gatewayUs);
    out.functionUs = sum((run) => run.cpu.functionUs);
  }
  if (target.responder !== undefined) out.responderUs = sum((run) => run.cpu.responderUs);
  if (target.brokerPid !== undefined) out.brokerUs = sum((run) => run.cpu.brokerUs);
  return out;
}
