// Whose a running lab is. Namespace, link and loop names come from the lab (cluster) name alone, so two checkouts or
// two inventory directories with the same cluster name would share them: `lab up` from the second one adopted the
// first one's running hosts, whose keys it does not have (every later ssh: HOST KEY CHANGED). The owner file under
// /run (gone at a reboot, like the namespaces) records the state directory that started the lab.
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LabConfig } from './types.js';

export const OWNER_DIR = '/run/clusterform/labs';
export const ownerFile = (lab: string, dir = OWNER_DIR) => path.join(dir, `${lab}.owner`);

/** The state directory recorded for a lab, if any. */
export function readOwner(lab: string, dir = OWNER_DIR): string | undefined {
  try {
    return readFileSync(ownerFile(lab, dir), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why `lab up` must not touch a lab of this name (pure): it runs (its bridge namespace exists) and belongs to another
 * state directory, or to none recorded while this state directory never started it. A stale owner of a lab that no
 * longer runs is no conflict.
 */
export function ownerConflict(o: { lab: string; stateDir: string; running: boolean; owner?: string; ownState: boolean }): string | undefined {
  if (!o.running || o.owner === o.stateDir) return undefined;
  if (o.owner === undefined && o.ownState) return undefined; // started from here by a version that kept no owner file
  const whose = o.owner === undefined ? 'from another state directory (none recorded)' : `from ${o.owner}`;
  return `lab ${o.lab} is already running ${whose}, not ${o.stateDir}: its hosts have keys this inventory's lab does not know. ` +
    'Take it down from where it was started (clusterform lab down INVENTORY), or give this inventory another cluster name.';
}

/** Records this state directory as the lab's owner (atomically). */
export async function claimOwner(cfg: Pick<LabConfig, 'lab' | 'stateDir'>, dir = OWNER_DIR): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const f = ownerFile(cfg.lab, dir);
  await writeFile(`${f}.${process.pid}.tmp`, `${cfg.stateDir}\n`);
  await rename(`${f}.${process.pid}.tmp`, f);
}

/** Forgets the lab's owner (on down). */
export async function releaseOwner(lab: string, dir = OWNER_DIR): Promise<void> {
  await rm(ownerFile(lab, dir), { force: true });
}
