/**
 * Qualification time of a Teredo client from process start, ours against Debian's, against the
 * same server: each client is started, waited for and stopped in turn in one lab node, the two
 * implementations alternating so that slow moments of the machine hit both.
 */
import type { Implementation, Lab, TeredoClient } from './lab/index.js';
import { median } from './bench-relay-report.js';
import type { QualificationFigures } from './bench-relay-report.js';

const NEW_ADDRESS = /New Teredo address/;
const TIMEOUT_MS = 15_000;

export interface QualificationSetup {
  readonly lab: Lab;
  readonly node: string;
  readonly impls: readonly Implementation[];
  readonly runs: number;
  readonly labelOf: (impl: Implementation) => string;
  readonly onSample?: (impl: Implementation, addressMs: number, loggedMs: number | null) => void;
}

export async function measureQualification(setup: QualificationSetup): Promise<QualificationFigures[]> {
  const samples = new Map(
    setup.impls.map((impl) => [
      impl,
      { address: [] as number[], logged: [] as number[], errors: [] as string[] },
    ]),
  );
  let interfaces = 0;
  for (let run = 0; run < setup.runs; run++) {
    for (const impl of setup.impls) {
      const record = samples.get(impl)!;
      let client: TeredoClient | null = null;
      try {
        client = await setup.lab.startClient(setup.node, impl, { interfaceName: `tq${interfaces++}` });
        const qualified = await client.waitQualified(TIMEOUT_MS);
        const logged = client.daemon.output.find((line) => NEW_ADDRESS.test(line.text))?.atMs ?? null;
        record.address.push(qualified.elapsedMs);
        if (logged !== null) record.logged.push(logged);
        setup.onSample?.(impl, qualified.elapsedMs, logged);
      } catch (error) {
        record.errors.push((error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '');
      } finally {
        await client?.stop();
      }
    }
  }
  return setup.impls.map((impl) => {
    const record = samples.get(impl)!;
    return {
      impl,
      label: setup.labelOf(impl),
      addressMs: record.address,
      loggedMs: record.logged,
      medianAddressMs: median(record.address),
      medianLoggedMs: median(record.logged),
      errors: record.errors,
    };
  });
}
