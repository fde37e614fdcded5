import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blkidSignatures, parseBlkidExport, parseBlkidExportMulti, parseBlkidLine } from '../../src/parsers/blkid.js';
import { kernelName, parseRawdevicesFile, parseRawQa, render60RawRules, renderRawdevices } from '../../src/parsers/raw.js';
import { applyHostsBlock, removeHostsBlock, renderHostsBlock } from '../../src/parsers/hostsblock.js';

const fx = (n: string) => readFileSync(new URL(`../fixtures/${n}`, import.meta.url), 'utf8');

describe('blkid', () => {
  it('blank device: empty output (exit 2)', () => {
    expect(fx('blkid-blank.export')).toBe('');
    expect(parseBlkidExport(fx('blkid-blank.export'))).toEqual({});
    expect(blkidSignatures({})).toEqual([]);
  });
  it('ext3 partition, low-level probe', () => {
    const p = parseBlkidExport(fx('blkid-p3-ext3.export'));
    expect(p).toMatchObject({ DEVNAME: '/dev/loop0p3', TYPE: 'ext3', SEC_TYPE: 'ext2', USAGE: 'filesystem', PART_ENTRY_NUMBER: '3', PART_ENTRY_TYPE: '0x83' });
    expect(p.UUID).toBe('a4a64f66-c608-410b-ac5d-b4e2cb4f30c4');
  });
  it('escaped label', () => {
    expect(parseBlkidExport(fx('blkid-p6-label.export')).LABEL).toBe('ha nfs"x');
  });
  it('partition without filesystem has only PART_ENTRY_*', () => {
    const p = parseBlkidExport(fx('blkid-p2-empty.export'));
    expect(p.TYPE).toBeUndefined();
    expect(p.PART_ENTRY_SIZE).toBe('20480');
  });
  it.each([
    ['blkid-disk-dos.export', ['dos']],
    ['blkid-disk-gpt.export', ['gpt']],
    ['blkid-wholedisk-ext4.export', ['ext4']],
  ])('whole-disk signatures %s', (f, sigs) => expect(blkidSignatures(parseBlkidExport(fx(f)))).toEqual(sigs));
  it('multi-record export', () => {
    expect(parseBlkidExportMulti('DEVNAME=/dev/a\nTYPE=ext3\n\nDEVNAME=/dev/b\nTYPE=swap\n').map((r) => r.TYPE)).toEqual(['ext3', 'swap']);
  });
  it('default format: debian 12 vda3', () => {
    expect(parseBlkidLine(fx('blkid-vda3.debian12-readme.txt').trim())).toEqual({
      device: '/dev/vda3',
      tags: { UUID: '1d0c4609-a8f3-4e6c-9e0d-9939d0e6f87f', SEC_TYPE: 'ext2', BLOCK_SIZE: '1024', TYPE: 'ext3', PARTUUID: '9d91988b-03' },
    });
  });
  it('default format: several lines, escaped quote, tag-less partition', () => {
    const lines = fx('blkid-default.txt').split('\n').map(parseBlkidLine).filter((x) => x !== null);
    expect(lines.map((l) => l.device)).toEqual(['/dev/loop0p3', '/dev/loop0p5', '/dev/loop0', '/dev/loop0p1']);
    expect(lines[2]!.tags).toEqual({ PTUUID: '7f85311f', PTTYPE: 'dos' });
    expect(lines[3]!.tags).toEqual({ PARTUUID: '7f85311f-01' });
    expect(parseBlkidLine(fx('blkid-default-label.txt'))!.tags.LABEL).toBe('ha nfs"x');
    expect(parseBlkidLine('')).toBeNull();
  });
  it('rejects garbage', () => {
    expect(() => parseBlkidExport('garbage')).toThrow();
    expect(() => parseBlkidLine('/dev/x: TYPE=ext3')).toThrow();
  });
});

describe('raw devices', () => {
  it('raw -qa', () => {
    expect(parseRawQa(fx('raw-qa.txt'))).toEqual([
      { raw: '/dev/raw/raw1', major: 8, minor: 33 },
      { raw: '/dev/raw/raw2', major: 8, minor: 34 },
    ]);
    expect(parseRawQa('/dev/raw/raw1:  bound to major 8, minor 33\n')).toEqual([{ raw: '/dev/raw/raw1', major: 8, minor: 33 }]);
    expect(parseRawQa('')).toEqual([]);
  });
  it('service rawdevices start output', () => {
    expect(parseRawQa(fx('rawdevices-start-output.txt')).map((b) => `${b.raw}=${b.major}:${b.minor}`)).toEqual([
      '/dev/raw/raw1=3:5',
      '/dev/raw/raw2=3:6',
      '/dev/raw/raw3=3:7',
      '/dev/raw/raw4=3:8',
    ]);
  });
  it('rawdevices file: comments, both forms', () => {
    expect(parseRawdevicesFile(fx('rawdevices.rhcs3.txt'))).toEqual([
      { raw: '/dev/raw/raw1', device: '/dev/hda5' },
      { raw: '/dev/raw/raw2', device: '/dev/hda6' },
    ]);
    expect(parseRawdevicesFile('/dev/raw/raw2 8 5 # inline\n')).toEqual([{ raw: '/dev/raw/raw2', major: 8, minor: 5 }]);
    expect(() => parseRawdevicesFile('/dev/raw/raw1\n')).toThrow();
  });
  const b = [
    { raw: '/dev/raw/raw1', device: '/dev/sdb1' },
    { raw: '/dev/raw/raw2', device: '/dev/sdb2' },
  ];
  it('renderRawdevices keeps the RHEL header and parses back', () => {
    const r = renderRawdevices(b);
    expect(r.startsWith(fx('rawdevices.rhcs3.txt').split('/dev/raw/raw1 /dev/hda5')[0]!)).toBe(true);
    expect(r.endsWith('/dev/raw/raw1 /dev/sdb1\n/dev/raw/raw2 /dev/sdb2\n')).toBe(true);
    expect(parseRawdevicesFile(r)).toEqual(b);
    expect(renderRawdevices(b)).toBe(r);
  });
  it('render60RawRules', () => {
    const r = render60RawRules(b);
    expect(r.startsWith(fx('60-raw.rules.rhel5.txt'))).toBe(true);
    expect(r.split('\n').filter((l) => l.startsWith('ACTION'))).toEqual([
      'ACTION=="add", KERNEL=="sdb1", RUN+="/usr/bin/raw /dev/raw/raw1 %N"',
      'ACTION=="add", KERNEL=="sdb2", RUN+="/usr/bin/raw /dev/raw/raw2 %N"',
    ]);
  });
  it('kernelName', () => {
    expect(kernelName('/dev/sdb1')).toBe('sdb1');
    expect(kernelName('/dev/cciss/c0d0p1')).toBe('cciss!c0d0p1');
    expect(() => kernelName('sdb1')).toThrow();
  });
  it('rejects unsafe bindings', () => {
    expect(() => renderRawdevices([{ raw: '/dev/raw/raw1', device: '/dev/sdb1\n/dev/raw/raw9 /dev/sda' }])).toThrow();
    expect(() => render60RawRules([{ raw: '/dev/sdb1', device: '/dev/sdb1' }])).toThrow();
  });
});

describe('hosts block', () => {
  const entries = [
    { address: '192.168.1.1', names: ['node1', 'node1.example.com'] },
    { address: '192.168.1.2', names: ['node2'] },
  ];
  const BLOCK =
    '# BEGIN clusterform managed block (ha)\n192.168.1.1 node1 node1.example.com\n192.168.1.2 node2\n# END clusterform managed block (ha)\n';
  const HOSTS = '127.0.0.1\tlocalhost\n::1     localhost ip6-localhost\n';
  it('render', () => expect(renderHostsBlock('ha', entries)).toBe(BLOCK));
  it('append to a file with trailing newline', () => expect(applyHostsBlock(HOSTS, 'ha', entries)).toBe(HOSTS + BLOCK));
  it('append to a file without trailing newline', () => expect(applyHostsBlock('127.0.0.1 localhost', 'ha', entries)).toBe('127.0.0.1 localhost\n' + BLOCK));
  it('append to an empty file', () => expect(applyHostsBlock('', 'ha', entries)).toBe(BLOCK));
  it('replace in place, other lines byte-identical', () => {
    const cur = HOSTS + '# BEGIN clusterform managed block (ha)\n10.0.0.9 old\n# END clusterform managed block (ha)\n10.1.1.1 after  # keep   spacing\n';
    expect(applyHostsBlock(cur, 'ha', entries)).toBe(HOSTS + BLOCK + '10.1.1.1 after  # keep   spacing\n');
  });
  it('block at EOF without trailing newline', () => {
    const cur = HOSTS + '# BEGIN clusterform managed block (ha)\n10.0.0.9 old\n# END clusterform managed block (ha)';
    expect(applyHostsBlock(cur, 'ha', entries)).toBe(HOSTS + BLOCK);
  });
  it('idempotent', () => {
    for (const x of [HOSTS, '', 'a', HOSTS + BLOCK]) {
      const once = applyHostsBlock(x, 'ha', entries);
      expect(applyHostsBlock(once, 'ha', entries)).toBe(once);
    }
  });
  it('one block per cluster', () => {
    const two = applyHostsBlock(applyHostsBlock(HOSTS, 'ha', entries), 'web', [{ address: '10.0.0.1', names: ['vip'] }]);
    expect(two).toContain('(web)');
    expect(applyHostsBlock(two, 'ha', [])).toBe(
      HOSTS + '# BEGIN clusterform managed block (ha)\n# END clusterform managed block (ha)\n' + two.slice((HOSTS + BLOCK).length),
    );
    expect(removeHostsBlock(two, 'ha')).toBe(HOSTS + two.slice((HOSTS + BLOCK).length));
  });
  it('remove', () => {
    expect(removeHostsBlock(HOSTS + BLOCK, 'ha')).toBe(HOSTS);
    expect(removeHostsBlock(HOSTS, 'ha')).toBe(HOSTS);
  });
  it.each([
    ['BEGIN without END', HOSTS + '# BEGIN clusterform managed block (ha)\n1.1.1.1 x\n', /BEGIN marker without its END/],
    ['END without BEGIN', HOSTS + '# END clusterform managed block (ha)\n', /END marker without its BEGIN/],
    ['duplicate blocks', HOSTS + BLOCK + BLOCK, /2 BEGIN and 2 END/],
    ['END before BEGIN', '# END clusterform managed block (ha)\n# BEGIN clusterform managed block (ha)\n', /END marker before/],
  ])('throws on %s', (_n, cur, re) => {
    expect(() => applyHostsBlock(cur, 'ha', entries)).toThrow(re);
    expect(() => removeHostsBlock(cur, 'ha')).toThrow(re);
  });
  it('rejects bad entries', () => {
    expect(() => renderHostsBlock('ha', [{ address: '1.2.3.4', names: ['bad name'] }])).toThrow();
    expect(() => renderHostsBlock('ha', [{ address: '1.2.3.4\n5.6.7.8', names: ['x'] }])).toThrow();
    expect(() => renderHostsBlock('a\nb', [])).toThrow();
  });
});
