/** What every benchmark's JSON says about the machine it ran on. */
import { cpus, loadavg, release } from 'node:os';

export interface MachineDescription {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly node: string;
  /** The 1, 5 and 15 minute load averages when the run started: read every figure with them. */
  readonly loadAverage: readonly number[];
}

export function describeMachine(load: readonly number[] = loadavg()): MachineDescription {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    kernel: release(),
    node: process.version,
    loadAverage: load.map((value) => Number(value.toFixed(2))),
  };
}
