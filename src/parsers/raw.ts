/** Raw device bindings: `raw -qa`, /etc/sysconfig/rawdevices, udev 60-raw.rules. Pure except template loading. */
import { renderTemplate } from '../util/paths.js';

export interface RawBinding {
  raw: string;
  major: number;
  minor: number;
}

/** Parse `raw -qa` (also the indented lines of `service rawdevices start`): `/dev/raw/raw1:  bound to major 8, minor 33`. */
export function parseRawQa(text: string): RawBinding[] {
  const out: RawBinding[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\/\S+?):\s+bound to major (\d+),\s*minor (\d+)\s*$/.exec(line);
    if (m) out.push({ raw: m[1]!, major: Number(m[2]), minor: Number(m[3]) });
  }
  return out;
}

export interface RawdevicesEntry {
  raw: string;
  device?: string;
  major?: number;
  minor?: number;
}

/** Parse /etc/sysconfig/rawdevices: `<rawdev> <blockdev>` or `<rawdev> <major> <minor>`; `#` comments and blank lines ignored. */
export function parseRawdevicesFile(text: string): RawdevicesEntry[] {
  const out: RawdevicesEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.replace(/#.*$/, '').trim();
    if (t === '') continue;
    const f = t.split(/\s+/);
    if (f.length === 2) out.push({ raw: f[0]!, device: f[1]! });
    else if (f.length === 3 && /^\d+$/.test(f[1]!) && /^\d+$/.test(f[2]!))
      out.push({ raw: f[0]!, major: Number(f[1]), minor: Number(f[2]) });
    else throw new Error(`rawdevices: unrecognized line ${JSON.stringify(line)}`);
  }
  return out;
}

function checkBinding(b: { raw: string; device: string }): void {
  if (!/^\/dev\/raw\/raw[1-9]\d*$/.test(b.raw)) throw new Error(`invalid raw device ${JSON.stringify(b.raw)} (want /dev/raw/rawN)`);
  if (!/^\/dev\/[A-Za-z0-9._/-]+$/.test(b.device) || b.device.includes('..'))
    throw new Error(`invalid block device ${JSON.stringify(b.device)}`);
}

/** /etc/sysconfig/rawdevices (RHEL 3/4) with the stock header comment. */
export function renderRawdevices(bindings: { raw: string; device: string }[], templatesOverride?: string): string {
  bindings.forEach(checkBinding);
  return renderTemplate('rawdevices.hbs', { bindings }, { escape: false, overrideDir: templatesOverride });
}

/** Kernel name of a block device path as udev's KERNEL== sees it: `/dev/sdb1` → `sdb1`, `/dev/cciss/c0d0p1` → `cciss!c0d0p1`. */
export function kernelName(device: string): string {
  const m = /^\/dev\/(.+)$/.exec(device);
  if (!m) throw new Error(`not a /dev path: ${JSON.stringify(device)}`);
  return m[1]!.replace(/\//g, '!');
}

/**
 * /etc/udev/rules.d/60-raw.rules (RHEL 5+): one
 * `ACTION=="add", KERNEL=="sdb1", RUN+="/usr/bin/raw /dev/raw/raw1 %N"` per binding.
 * The device is matched by kernel name, so pass the real node (resolve /dev/disk/by-* symlinks first).
 */
export function render60RawRules(bindings: { raw: string; device: string }[], templatesOverride?: string): string {
  bindings.forEach(checkBinding);
  // a udev by-id/by-path link is matched by SYMLINK (60-persistent-storage.rules made it before 60-raw.rules runs),
  // so the binding survives a change of kernel names; a kernel name by KERNEL
  const rules = bindings.map((b) => {
    const link = /^\/dev\/(disk\/by-(?:id|path)\/.+)$/.exec(b.device)?.[1];
    return { raw: b.raw, device: b.device, ...(link ? { symlink: link } : { kernel: kernelName(b.device) }) };
  });
  return renderTemplate('60-raw.rules.hbs', { rules }, { escape: false, overrideDir: templatesOverride });
}
