// raw_devices: the quorum raw devices (quorum.primary → partition 1, quorum.shadow → partition 2) configured and bound.
import { z } from 'zod';
import { defineModule, type Action, type Change } from '../../engine/types.js';
import { partitionDevice } from '../../disk/layout.js';
import { parseRawQa, render60RawRules, renderRawdevices } from '../../parsers/raw.js';
import { unifiedDiff } from '../../util/diff.js';
import { cmd, q } from '../../util/shell.js';
import { backupSh, deviceNumbers, errText, haArg, haOf, hasStableNames, resolveSh, stableLinksSh, stableNameWarnings, stablePartitionPath } from '../support/disks.js';

const args = z.object({ ...haArg, state: z.enum(['present', 'absent']).default('present') }).strict();
type Args = z.infer<typeof args>;

export const RAWDEVICES = '/etc/sysconfig/rawdevices';
export const RAW_RULES = '/etc/udev/rules.d/60-raw.rules';

interface State {
  dev: string;
  missing?: string;
  /** partition number → "major:minor" (null when the node does not exist yet) */
  majmin: Record<number, string | null>;
  conf: string | null;
  managed: boolean;
  bound: { raw: string; major: number; minor: number }[];
  rawTool: boolean;
  links: string;
}

/** device: the stable name the configuration uses (survives a reboot); now: this boot's kernel name, for binding. */
function bindings(ha: ReturnType<typeof haOf>, dev: string): { raw: string; device: string; now: string; n: number }[] {
  const [p1, p2] = deviceNumbers(ha);
  return [
    { raw: ha.quorum.primary, device: hasStableNames(ha.shared_disk) ? stablePartitionPath(ha.shared_disk, p1!) : partitionDevice(dev, p1!), now: partitionDevice(dev, p1!), n: p1! },
    { raw: ha.quorum.shadow, device: hasStableNames(ha.shared_disk) ? stablePartitionPath(ha.shared_disk, p2!) : partitionDevice(dev, p2!), now: partitionDevice(dev, p2!), n: p2! },
  ];
}

export const rawDevices = defineModule<Args, State>({
  name: 'raw_devices',
  doc: 'Quorum raw devices: /etc/sysconfig/rawdevices (or udev 60-raw.rules) and live bindings where the kernel has a raw driver.',
  args,
  read(ctx) {
    const ha = haOf(ctx);
    const path = ctx.facts.features.udevRaw ? RAW_RULES : RAWDEVICES;
    const nums = deviceNumbers(ha).slice(0, 2);
    return {
      dev: `${resolveSh(ha.shared_disk)}\nprintf '%s\\n' "$D"`,
      majmin: `${resolveSh(ha.shared_disk)}\nfor n in ${nums.join(' ')}; do if [ -b "$P$n" ]; then echo "$n $(stat -L -c '%t %T' "$P$n")"; else echo "$n missing"; fi; done`,
      conf: `cat ${q(path)}`,
      backup: backupSh(path),
      qa: `if command -v raw >/dev/null 2>&1; then echo tool; raw -qa 2>/dev/null; fi; true`,
      links: stableLinksSh(ha.shared_disk, nums),
    };
  },
  parse(res) {
    const st: State = { dev: '', majmin: {}, conf: null, managed: false, bound: [], rawTool: false, links: res.links?.out ?? '' };
    if (!res.dev || res.dev.rc !== 0) st.missing = (res.dev?.err || 'no answer').trim();
    else st.dev = res.dev.out.trim();
    for (const line of (res.majmin?.out ?? '').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length === 2 && f[1] === 'missing') st.majmin[Number(f[0])] = null;
      else if (f.length === 3) st.majmin[Number(f[0])] = `${parseInt(f[1]!, 16)}:${parseInt(f[2]!, 16)}`;
    }
    st.conf = res.conf?.rc === 0 ? res.conf.out : null;
    st.managed = /backup|absent/.test(res.backup?.out ?? '') || (st.conf ?? '').includes('managed by clusterform');
    const qa = res.qa?.out ?? '';
    st.rawTool = qa.split('\n')[0] === 'tool';
    st.bound = parseRawQa(qa);
    return st;
  },
  plan(st, ctx) {
    const ha = haOf(ctx);
    const f = ctx.facts;
    const path = f.features.udevRaw ? RAW_RULES : RAWDEVICES;
    const changes: Change[] = [];
    const notes: string[] = [];
    const warnings = ctx.args.state === 'absent' ? [] : stableNameWarnings(ha.shared_disk, deviceNumbers(ha).slice(0, 2), st.links, path);
    if (ctx.args.state === 'absent') {
      const unbind: Action[] = [];
      for (const raw of [ha.quorum.primary, ha.quorum.shadow])
        if (st.bound.some((b) => b.raw === raw && (b.major !== 0 || b.minor !== 0)))
          unbind.push({ kind: 'sh', desc: `raw ${raw} 0 0`, script: cmd(['raw', raw, '0', '0']) });
      if (unbind.length) changes.push({ summary: `unbind ${unbind.length} raw device(s)`, actions: unbind });
      if (st.conf !== null && st.managed) changes.push({ summary: `remove ${path} (restore the original if there was one)`, actions: [{ kind: 'remove', path, restoreBackup: true }] });
      else if (st.conf !== null) notes.push(`${path} was not written by clusterform; left alone`);
      return { changes, notes };
    }
    if (st.missing) return { changes: [], refuse: `shared disk ${ha.shared_disk} not found on ${ctx.host.name}: ${st.missing}` };
    let want: ReturnType<typeof bindings>;
    let content: string;
    try {
      want = bindings(ha, st.dev);
      content = f.features.udevRaw ? render60RawRules(want, ctx.inventory.templatesDir) : renderRawdevices(want, ctx.inventory.templatesDir);
    } catch (e) {
      return { changes: [], refuse: `cannot build the raw device configuration: ${errText(e)}` };
    }
    if (st.conf !== content)
      changes.push({
        summary: `${st.conf === null ? 'create' : 'update'} ${path}: ${want.map((w) => `${w.raw} → ${w.device}`).join(', ')}`,
        diff: unifiedDiff(st.conf ?? '', content, path),
        actions: [{ kind: 'write', path, content, mode: '0644', backup: true, mkdir: true }],
      });
    if (f.features.raw === 'none') {
      warnings.push(`raw binding skipped: kernel ${f.kernel || '(unknown)'} has no raw driver (removed in Linux 5.14); configuration written`);
      return { changes, warnings };
    }
    const bind: Action[] = [];
    if (f.features.raw === 'module') bind.push({ kind: 'sh', desc: 'modprobe raw', script: 'modprobe raw' });
    for (const w of want) {
      const mm = st.majmin[w.n];
      if (mm === null || mm === undefined) {
        if (!ctx.dryRun) return { changes: [], refuse: `partition ${w.now} does not exist on ${ctx.host.name}; run partition_table first` };
        bind.push({ kind: 'sh', desc: `raw ${w.raw} ${w.now} (after partitioning)`, script: cmd(['raw', w.raw, w.now]) });
        continue;
      }
      const cur = st.bound.find((b) => b.raw === w.raw);
      if (cur && `${cur.major}:${cur.minor}` === mm) continue;
      bind.push({ kind: 'sh', desc: `raw ${w.raw} ${w.now} (${mm}${cur ? `, now bound to ${cur.major}:${cur.minor}` : ''})`, script: cmd(['raw', w.raw, w.now]) });
    }
    if (bind.length > (f.features.raw === 'module' ? 1 : 0)) {
      if (!st.rawTool && !ctx.dryRun) return { changes, warnings: [`raw binding skipped: the raw tool (util-linux) is not installed; configuration written`] };
      changes.push({ summary: `bind ${bind.filter((b) => b.kind === 'sh' && b.desc.startsWith('raw ')).length} raw device(s)`, actions: bind });
    }
    return { changes, warnings };
  },
});
