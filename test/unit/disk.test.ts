import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSfdiskDump, parseSfdiskJson, partitionNumber, type PartitionTable } from '../../src/parsers/sfdisk.js';
import {
  compareLayout,
  GPT_LINUX_FS,
  planRepartition,
  partitionDevice,
  sfdiskScript,
  wantedLayout,
  type WantedLayout,
} from '../../src/disk/layout.js';
import { parseSize } from '../../src/util/size.js';

const fx = (n: string) => readFileSync(new URL(`../fixtures/${n}`, import.meta.url), 'utf8');
const M = 1024 * 1024;
const DISK = 1200 * M; // the loop disk the fixtures were captured on (2457600 sectors)

function want(label: 'dos' | 'gpt', sizes: string[], diskBytes = DISK): WantedLayout {
  return wantedLayout({ label, sizes: sizes.map((s) => (s === 'rest' ? null : parseSize(s))), diskBytes, sectorSize: 512 });
}

describe('parseSfdiskJson / parseSfdiskDump', () => {
  it('empty output = no table', () => {
    expect(parseSfdiskJson('')).toBeNull();
    expect(parseSfdiskDump('\n')).toBeNull();
    expect(fx('sfdisk-json.blank.stderr.txt')).toMatch(/does not contain a recognized partition table/);
  });
  it('util-linux dos json', () => {
    const t = parseSfdiskJson(fx('sfdisk-json.dos.util-linux.json'))!;
    expect(t).toMatchObject({ label: 'dos', id: '0x1ddc8a79', unit: 'sectors', sectorSize: 512 });
    expect(t.partitions).toHaveLength(6);
    expect(t.partitions[0]).toEqual({ node: '<removed>1', start: 2048, size: 6144, type: '83', bootable: true });
    expect(t.partitions[3]).toEqual({ node: '<removed>4', start: 20480, size: 81920, type: '5' });
  });
  it('json and dump agree (util-linux dos)', () => {
    expect(parseSfdiskDump(fx('sfdisk-dump.dos.util-linux.txt'))).toEqual(parseSfdiskJson(fx('sfdisk-json.dos.util-linux.json')));
  });
  it('util-linux gpt dump with uuid and quoted name containing a space', () => {
    const t = parseSfdiskDump(fx('sfdisk-dump.gpt.util-linux.txt'))!;
    expect(t).toMatchObject({ label: 'gpt', id: '3B8559DB-33AF-43E9-BEFC-C331D829B539', firstLba: 2048, lastLba: 102366 });
    expect(t.partitions[3]).toEqual({
      node: '<removed>4',
      start: 20480,
      size: 81887,
      type: GPT_LINUX_FS,
      uuid: 'D2A29B0A-FDEE-40C3-9BAE-B9FA782C986C',
      name: 'GPT is the best',
    });
  });
  it('debian 12 dump from the README', () => {
    const t = parseSfdiskDump(fx('sfdisk-dump.dos4.debian12-readme.txt'))!;
    expect(t.device).toBe('/dev/loop0');
    expect(t.partitions.map((p) => [p.start, p.size])).toEqual([
      [2048, 20480],
      [22528, 20480],
      [43008, 2048000],
      [2091008, 366592],
    ]);
  });
  it.each(['dos4', 'dos6', 'dos5fixed', 'gpt4', 'gpt6', 'dos4rest'])('captured %s: json == dump', (n) => {
    const j = parseSfdiskJson(fx(`sfdisk-json.${n}.loop.json`));
    expect(j).not.toBeNull();
    expect(parseSfdiskDump(fx(`sfdisk-dump.${n}.loop.txt`))).toEqual(j);
  });
  it('rejects garbage', () => {
    expect(() => parseSfdiskJson('{')).toThrow(/not JSON/);
    expect(() => parseSfdiskJson('{"partitiontable":{"label":"sun"}}')).toThrow(/unsupported/);
    expect(() => parseSfdiskDump('hello world')).toThrow();
  });
  it.each([
    ['/dev/sdb5', 5],
    ['/dev/nvme0n1p2', 2],
    ['/dev/loop0p7', 7],
  ])('partitionNumber(%s)', (n, k) => expect(partitionNumber(n)).toBe(k));
});

describe('partitionDevice', () => {
  it.each([
    ['/dev/sdb', 1, '/dev/sdb1'],
    ['/dev/vda', 3, '/dev/vda3'],
    ['/dev/hdb', 5, '/dev/hdb5'],
    ['/dev/nvme0n1', 1, '/dev/nvme0n1p1'],
    ['/dev/loop0', 2, '/dev/loop0p2'],
    ['/dev/mmcblk0', 1, '/dev/mmcblk0p1'],
    ['/dev/md0', 1, '/dev/md0p1'],
  ])('%s %d → %s', (d, n, p) => expect(partitionDevice(d, n)).toBe(p));
  it('rejects bad numbers', () => expect(() => partitionDevice('/dev/sdb', 0)).toThrow());
});

describe('wantedLayout + sfdiskScript (verified against sfdisk 2.38.1 on a loop device)', () => {
  it.each([
    ['dos4', 'dos', ['10M', '10M', '1000M', '100M'], [1, 2, 3, 4]],
    ['dos6', 'dos', ['10M', '10M', '100M', '10M', '10M', 'rest'], [1, 2, 3, 5, 6, 7]],
    ['dos5fixed', 'dos', ['10M', '10M', '100M', '10M', '10M'], [1, 2, 3, 5, 6]],
    ['gpt4', 'gpt', ['10M', '10M', '1000M', '100M'], [1, 2, 3, 4]],
    ['gpt6', 'gpt', ['10M', '10M', '100M', '10M', '10M', 'rest'], [1, 2, 3, 4, 5, 6]],
  ] as const)('%s', (name, label, sizes, numbers) => {
    const w = want(label, [...sizes]);
    expect(sfdiskScript(w)).toBe(fx(`sfdisk-script.${name}.txt`));
    expect(w.deviceNumbers).toEqual(numbers);
    const cur = parseSfdiskJson(fx(`sfdisk-json.${name}.loop.json`))!;
    // predicted starts are where sfdisk put them
    expect(w.partitions.map((p) => p.start)).toEqual(cur.partitions.map((p) => p.start));
    expect(compareLayout(cur, w, [label])).toEqual({ status: 'same' });
  });
  it('dos6 script shape', () => {
    expect(sfdiskScript(want('dos', ['10M', '10M', '100M', '10M', '10M', 'rest']))).toBe(
      'label: dos\nunit: sectors\n\nsize=20480, type=83\nsize=20480, type=83\nsize=204800, type=83\nsize=+, type=5\nsize=20480, type=83\nsize=20480, type=83\nsize=+, type=83\n',
    );
  });
  it('README dos4 with rest (,+) is the same layout', () => {
    const cur = parseSfdiskDump(fx('sfdisk-dump.dos4.debian12-readme.txt'));
    expect(compareLayout(cur, want('dos', ['10M', '10M', '1000M', 'rest']), [])).toEqual({ status: 'same' });
    expect(compareLayout(parseSfdiskJson(fx('sfdisk-json.dos4rest.loop.json')), want('dos', ['10M', '10M', '1000M', 'rest']), [])).toEqual({ status: 'same' });
  });
  // minDiskBytes verified with sfdisk: exactly this size works, one sector less fails or leaves < 1 MiB
  it.each([
    ['dos', ['10M', '10M', '100M', '10M', '10M', 'rest'], 152043520],
    ['gpt', ['10M', '10M', '100M', '10M', '10M', 'rest'], 148914688],
    ['dos', ['10M', '10M', '1000K', '10M', '10M'], 46137344],
    ['gpt', ['1000K', '10M'], 12599808],
    ['dos', ['10M', '10M', '100M', '100M'], 231735296],
    ['dos', ['1000K', '3M', 'rest'], 6291456],
  ] as const)('minDiskBytes %s %j = %d', (label, sizes, min) => {
    expect(want(label, [...sizes]).minDiskBytes).toBe(min);
  });
  it('rejects bad specs', () => {
    expect(() => want('dos', ['rest', '10M'])).toThrow(/only the last/);
    expect(() => want('dos', [])).toThrow(/no partitions/);
    expect(() => wantedLayout({ label: 'dos', sizes: [1000], diskBytes: DISK, sectorSize: 512 })).toThrow(/multiple/);
    expect(() => wantedLayout({ label: 'dos', sizes: [0], diskBytes: DISK, sectorSize: 512 })).toThrow(/invalid size/);
  });
  it('4096-byte sectors: 1 MiB = 256 sectors', () => {
    const w = wantedLayout({ label: 'gpt', sizes: [10 * M, null], diskBytes: 0, sectorSize: 4096 });
    expect(w.partitions.map((p) => [p.start, p.sizeSectors])).toEqual([
      [256, 2560],
      [2816, null],
    ]);
  });
});

describe('compareLayout', () => {
  const dos4 = () => parseSfdiskJson(fx('sfdisk-json.dos4.loop.json'))!;
  const w4 = () => want('dos', ['10M', '10M', '1000M', '100M']);
  it('blank: no table, no signature', () => {
    expect(compareLayout(null, w4(), [])).toEqual({ status: 'blank' });
  });
  it('conflict: filesystem on the whole disk', () => {
    const r = compareLayout(null, w4(), ['ext4']);
    expect(r.status).toBe('conflict');
    if (r.status === 'conflict') {
      expect(r.reason).toMatch(/ext4/);
      expect(r.current).toMatch(/no partition table; signatures: ext4/);
      expect(r.wanted).toMatch(/^label: dos\n/);
    }
  });
  it('conflict: table plus whole-disk fs signature', () => {
    expect(compareLayout(dos4(), w4(), ['dos', 'ext4']).status).toBe('conflict');
  });
  it('conflict: label differs', () => {
    const r = compareLayout(parseSfdiskJson(fx('sfdisk-json.gpt4.loop.json')), w4(), ['gpt', 'PMBR']);
    expect(r).toMatchObject({ status: 'conflict', reason: 'partition table label is gpt, wanted dos' });
  });
  it('conflict: size differs, with side-by-side tables', () => {
    const r = compareLayout(dos4(), want('dos', ['10M', '20M', '1000M', '100M']), []);
    expect(r.status).toBe('conflict');
    if (r.status !== 'conflict') return;
    expect(r.reason).toBe('partition 2 has 20480 sectors (10 MiB), wanted 40960 (20 MiB)');
    expect(r.current).toBe(
      'label: dos\n' +
        '#    start  sectors   MiB  type\n' +
        '1     2048    20480    10  83\n' +
        '2    22528    20480    10  83\n' +
        '3    43008  2048000  1000  83\n' +
        '4  2091008   204800   100  83\n',
    );
    expect(r.wanted).toContain('2    22528    40960    20  83');
  });
  it('conflict: partition count differs', () => {
    expect(compareLayout(dos4(), want('dos', ['10M', '10M', '1000M']), [])).toMatchObject({
      status: 'conflict',
      reason: 'partition numbers are [1,2,3,4], wanted [1,2,3]',
    });
  });
  it('conflict: type differs', () => {
    const t = dos4();
    t.partitions[1]!.type = '82';
    expect(compareLayout(t, w4(), []).status).toBe('conflict');
  });
  it('conflict: disk too small', () => {
    const r = compareLayout(null, want('dos', ['10M', '10M', '1000M', '100M'], 100 * M), []);
    expect(r).toMatchObject({ status: 'conflict' });
    if (r.status === 'conflict') expect(r.reason).toMatch(/too small/);
  });
  it('conflict: rest partition under 1 MiB', () => {
    const t = parseSfdiskJson(fx('sfdisk-json.gpt6.loop.json'))!;
    t.partitions[5]!.size = 2047;
    expect(compareLayout(t, want('gpt', ['10M', '10M', '100M', '10M', '10M', 'rest']), []).status).toBe('conflict');
  });
  it('conflict: overlapping partitions', () => {
    const t = dos4();
    t.partitions[1]!.start = 10000;
    expect(compareLayout(t, w4(), []).status).toBe('conflict');
  });
  it('conflict: logical outside extended', () => {
    const t = parseSfdiskJson(fx('sfdisk-json.dos6.loop.json'))!;
    t.partitions[3]!.size = 2048; // shrink extended container
    expect(compareLayout(t, want('dos', ['10M', '10M', '100M', '10M', '10M', 'rest']), []).status).toBe('conflict');
  });
  it('same: starts differ but order holds (table written by another tool)', () => {
    const t: PartitionTable = { ...dos4(), partitions: dos4().partitions.map((p, i) => ({ ...p, start: p.start + i * 2048 })) };
    expect(compareLayout(t, w4(), ['dos'])).toEqual({ status: 'same' });
  });
  it('same: extended type f is accepted', () => {
    const t = parseSfdiskJson(fx('sfdisk-json.dos6.loop.json'))!;
    t.partitions[3]!.type = 'f';
    expect(compareLayout(t, want('dos', ['10M', '10M', '100M', '10M', '10M', 'rest']), [])).toEqual({ status: 'same' });
  });
});

describe('planRepartition (--force-disks keeps what does not change)', () => {
  const cur = (n: string) => parseSfdiskDump(fx(`sfdisk-dump.${n}.loop.txt`))!;
  const act = (r: ReturnType<typeof planRepartition>) => r.rows.map((x) => `${x.number}:${x.action}`).join(' ');
  it.each([
    // captured table, wanted sizes, label → actions, destroyed, wiped after
    ['dos4', 'dos', ['10M', '10M', '1000M', '200M'], '1:keep 2:keep 3:keep 4:replace', [4], [4]],
    ['gpt4', 'gpt', ['10M', '10M', '1000M', '100M', '50M'], '1:keep 2:keep 3:keep 4:keep 5:create', [], [5]],
    ['dos6', 'dos', ['10M', '10M', '100M', '10M', '20M', 'rest'], '1:keep 2:keep 3:keep 4:keep 5:keep 6:replace 7:replace', [6, 7], [6, 7]],
    // shrinking a middle partition leaves a gap: the later ones stay where they are
    ['gpt6', 'gpt', ['10M', '10M', '50M', '10M', '10M', 'rest'], '1:keep 2:keep 3:replace 4:keep 5:keep 6:keep', [3], [3]],
    // growing a middle partition moves every later one
    ['gpt4', 'gpt', ['10M', '10M', '1010M', '100M'], '1:keep 2:keep 3:replace 4:replace', [3, 4], [3, 4]],
    // a service removed: its partition goes; the existing 5th may stay as the rest-of-disk one (compareLayout: any size)
    ['gpt6', 'gpt', ['10M', '10M', '100M', '10M', 'rest'], '1:keep 2:keep 3:keep 4:keep 5:keep 6:remove', [6], []],
  ] as const)('%s → %j', (n, label, sizes, actions, destroyed, fresh) => {
    const r = planRepartition(cur(n), want(label, [...sizes]));
    expect(act(r)).toBe(actions);
    expect(r.destroyed).toEqual(destroyed);
    expect(r.fresh).toEqual(fresh);
    expect(r.renumbered).toBeUndefined();
  });
  it('kept partitions are written at their exact start and size, with the disk id and (gpt) partition uuids kept', () => {
    const r = planRepartition(cur('gpt4'), want('gpt', ['10M', '10M', '1000M', '100M', '50M']));
    expect(r.script).toBe([
      'label: gpt', 'label-id: 4F968CD5-5782-C349-B831-54FDAA8E12CA', 'unit: sectors', '',
      `start=2048, size=20480, type=${GPT_LINUX_FS}, uuid=39282382-F1C0-6345-BE6D-F3021669E2F1`,
      `start=22528, size=20480, type=${GPT_LINUX_FS}, uuid=80A9E6FA-DE93-D04B-B3C9-DA268812F297`,
      `start=43008, size=2048000, type=${GPT_LINUX_FS}, uuid=115C6705-8C63-104C-B665-464D2F56E180`,
      `start=2091008, size=204800, type=${GPT_LINUX_FS}, uuid=D8F27ED3-612E-1042-81E1-594BD787AD9B`,
      `start=2295808, size=102400, type=${GPT_LINUX_FS}`, '',
    ].join('\n'));
  });
  it('dos: a 5th partition would renumber the 4th primary → renumbered is set', () => {
    const r = planRepartition(cur('dos4'), want('dos', ['10M', '10M', '1000M', '100M', '50M']));
    expect(r.renumbered).toBe('the 4th partition of the layout is partition 4 now and would become partition 5');
  });
  it('dos with an extended partition: a new logical partition keeps every existing number', () => {
    const r = planRepartition(cur('dos6'), want('dos', ['10M', '10M', '100M', '10M', '10M', '100M', 'rest']));
    expect(r.renumbered).toBeUndefined();
    expect(act(r)).toBe('1:keep 2:keep 3:keep 4:keep 5:keep 6:keep 7:replace 8:create');
  });
});
