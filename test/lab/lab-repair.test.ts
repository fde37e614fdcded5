// `clusterform lab up` on a running lab repairs it: a dead VM or a dead sshd comes back, nothing else changes.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { cli, isRoot, ROOT, sshFor } from '../helpers.js';

const INV = resolve(ROOT, 'inventory/lab.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const pidOf = (host: string) => /running \(pid (\d+)\)/.exec(cli(['lab', 'status', INV]).stdout.split('\n').find((l) => l.includes(` ${host} `)) ?? '')?.[1];

describe.skipIf(!enabled)('lab repair', () => {
  it('restarts a dead VM and a dead sshd; the other hosts keep their processes', () => {
    const before = { director: pidOf('director'), node1: pidOf('node1'), rs1: pidOf('rs1') };
    expect(before.director && before.node1 && before.rs1).toBeTruthy();
    spawnSync('kill', ['-9', before.director!, before.node1!]);
    const st = cli(['lab', 'status', INV]);
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(/director .*STOPPED/);
    const up = cli(['lab', 'up', INV], { timeout: 300_000 });
    expect(up.code, up.stderr).toBe(0);
    const after = { director: pidOf('director'), node1: pidOf('node1'), rs1: pidOf('rs1') };
    expect(after.director).not.toBe(before.director);
    expect(after.node1).not.toBe(before.node1);
    expect(after.rs1).toBe(before.rs1);
    expect(ssh('director', 'hostname').stdout.trim()).toBe('director');
    expect(ssh('node1', 'hostname').stdout.trim()).toBe('node1');
  }, 300_000);
});
