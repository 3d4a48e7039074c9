/** Every fuzzing target, by name, behind one type whatever its inputs are. */
import { runCampaign } from '../campaign.js';
import type { CampaignLimits, CampaignResult } from '../campaign.js';
import type { FuzzTarget } from '../target.js';
import { CLI_TARGETS } from './cli.js';
import { CONFIG_TARGETS } from './config.js';
import { ipcFramesTarget, ipcMessageTarget } from './ipc.js';
import { qualificationTarget } from './qualification.js';
import { serverTarget } from './server.js';
import { trailersTarget } from './trailers.js';
import { TUNNEL_TARGETS } from './tunnel.js';

export interface Target {
  readonly name: string;
  /** Regression files of this target end with it. */
  readonly extension: string;
  campaign(limits: CampaignLimits): CampaignResult;
  /** Runs one stored input (a regression file's bytes); throws as run() does. */
  replay(bytes: Uint8Array): string;
}

function erase<I>(target: FuzzTarget<I>): Target {
  return {
    name: target.name,
    extension: target.codec.extension,
    campaign: (limits) => runCampaign(target, limits),
    replay: (bytes) => target.run(target.codec.decode(bytes)),
  };
}

export function allTargets(): readonly Target[] {
  return [
    ...TUNNEL_TARGETS.map(erase),
    erase(serverTarget()),
    erase(qualificationTarget()),
    erase(trailersTarget()),
    ...CONFIG_TARGETS.map(erase),
    ...CLI_TARGETS.map(erase),
    erase(ipcMessageTarget()),
    erase(ipcFramesTarget()),
  ];
}
