import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatSize, parseSize, SizeError } from '../../src/util/size.js';
import { cmd, isSafeName, q } from '../../src/util/shell.js';
import { unifiedDiff } from '../../src/util/diff.js';
import { templatesDir } from '../../src/util/paths.js';
import { existsSync } from 'node:fs';

describe('parseSize', () => {
  it.each([
    ['10M', 10 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['512K', 512 * 1024],
    ['2T', 2 * 1024 ** 4],
    ['100MiB', 100 * 1024 ** 2],
    ['1000M', 1000 * 1024 ** 2],
    ['4096', 4096],
    ['4096B', 4096],
    ['1.5G', 1.5 * 1024 ** 3],
    ['10m', 10 * 1024 ** 2],
    [' 10M ', 10 * 1024 ** 2],
    ['0', 0],
  ])('%s', (s, n) => expect(parseSize(s)).toBe(n));
  it.each(['10X', '-1M', '1.5.2G', '', '  ', 'M', '1.5', 'iB', '10 M M', '1e3'])('rejects %j', (s) => {
    expect(() => parseSize(s)).toThrow(SizeError);
  });
  it('clear messages', () => {
    expect(() => parseSize('10X')).toThrow(/invalid size "10X"/);
    expect(() => parseSize('-1M')).toThrow(/negative/);
    expect(() => parseSize('')).toThrow(/empty/);
  });
  it.each([
    [0, '0B'],
    [100, '100B'],
    [1536, '1.5KiB'],
    [10 * 1024 ** 2, '10MiB'],
    [1024 ** 3, '1GiB'],
  ])('formatSize(%d)', (n, s) => expect(formatSize(n)).toBe(s));
});

const nasty = [
  '',
  'plain',
  "it's",
  "''",
  'a b',
  'line1\nline2',
  '$(touch /tmp/cf-pwned)',
  '`id`',
  '; rm -rf /',
  '"double" \\ back',
  '$HOME ${PATH}',
  '*',
  '~',
  'FOO=bar',
  '-n',
  '\t tab',
  'ünïcødé ✓',
  "!#&|<>(){}[]?'\"",
];

describe('shell quoting', () => {
  it.each(nasty)('q(%j) arrives literally through sh -c', (s) => {
    const out = execFileSync('sh', ['-c', `printf '%s' ${q(s)}`]).toString();
    expect(out).toBe(s);
  });
  it('cmd() keeps every argv element separate', () => {
    const line = cmd(['printf', '%s\\0', ...nasty]);
    const out = execFileSync('sh', ['-c', line]).toString();
    expect(out.split('\0').slice(0, -1)).toEqual(nasty);
  });
  it('FOO=bar is quoted (not an assignment)', () => {
    expect(q('FOO=bar')).toBe("'FOO=bar'");
    expect(execFileSync('sh', ['-c', `${cmd(['FOO=bar'])} 2>/dev/null; echo $?`]).toString().trim()).toBe('127');
  });
  it('leaves safe words bare', () => {
    expect(cmd(['ipvsadm', '-a', '-t', '10.0.0.1:80', '-w', '3'])).toBe('ipvsadm -a -t 10.0.0.1:80 -w 3');
    expect(q('/dev/sdb1')).toBe('/dev/sdb1');
    expect(q('')).toBe("''");
  });
  it('rejects NUL and empty argv', () => {
    expect(() => q('a\0b')).toThrow();
    expect(() => cmd([])).toThrow();
  });
  it.each([
    ['node1', true],
    ['HA-NFS', true],
    ['web.farm_1', true],
    ['-x', false],
    ['.hidden', false],
    ['a b', false],
    ['a/b', false],
    ['', false],
    ['ä', false],
  ])('isSafeName(%j) = %s', (s, ok) => expect(isSafeName(s)).toBe(ok));
});

describe('unifiedDiff', () => {
  it('empty when equal', () => expect(unifiedDiff('a\n', 'a\n', '/etc/x')).toBe(''));
  it('headers and 3 lines of context', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n') + '\n';
    const b = a.replace('5', 'five');
    const d = unifiedDiff(a, b, '/etc/hosts');
    expect(d).toBe(
      [
        '--- /etc/hosts (current)',
        '+++ /etc/hosts (wanted)',
        '@@ -2,7 +2,7 @@',
        ' 2',
        ' 3',
        ' 4',
        '-5',
        '+five',
        ' 6',
        ' 7',
        ' 8',
        '',
      ].join('\n'),
    );
  });
  it('new file', () => {
    const d = unifiedDiff('', 'x\n', '/etc/cluster.xml');
    expect(d.split('\n').slice(0, 2)).toEqual(['--- /etc/cluster.xml (current)', '+++ /etc/cluster.xml (wanted)']);
    expect(d).toContain('+x');
  });
});

describe('templatesDir', () => {
  it('finds templates/ beside package.json', () => {
    const d = templatesDir();
    expect(d.endsWith('/templates')).toBe(true);
    expect(existsSync(`${d}/../package.json`)).toBe(true);
  });
});
