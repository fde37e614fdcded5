// Checks (read-only, for verify) of the HA pair and the LVS farm:
// - check_ha_disk: this member sees the shared disk's partitions with the inventory's sizes, the service file
//   systems, and the quorum raw bindings (where the kernel has a raw driver);
// - check_lvs_http: from lvs.verify_from, HTTP requests to the VIP are answered, and by every real server.
import { z } from 'zod';
import { defineCheck } from '../../engine/types.js';
import { partitionDevice } from '../../disk/layout.js';
import { BLKID_EXIT_NOTHING_FOUND, parseBlkidExport } from '../../parsers/blkid.js';
import { kernelName, parseRawQa } from '../../parsers/raw.js';
import { q } from '../../util/shell.js';
import { formatSize } from '../../util/size.js';
import {
  deviceNumbers, DISK_SIZE_SH, errText, type Ha, haArg, haLayout, haOf, resolveSh,
} from '../support/disks.js';
import { lvsSchema } from '../../inventory/schema.js';

// ---------------------------------------------------------------------------------------------------- check_ha_disk

interface DiskCheck {
  dev: string;
  missing?: string;
  bytes: number;
  sectorSize: number;
  /** kernel name → size in bytes (from /proc/partitions, 1 KiB blocks) */
  kernel: Map<string, number>;
  /** per service (spec order): blkid TYPE, '' = no signature, null = partition node missing */
  fs: (string | null)[];
  fsError: (string | undefined)[];
  /** quorum partition number → "major:minor" */
  majmin: Record<number, string>;
  rawTool: boolean;
  bound: { raw: string; major: number; minor: number }[];
}

function procPartitionSizes(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 4 && /^\d+$/.test(f[0]!) && /^\d+$/.test(f[2]!)) m.set(f[3]!, Number(f[2]) * 1024);
  }
  return m;
}

export const checkHaDisk = defineCheck<{ ha: Ha }, DiskCheck>({
  name: 'check_ha_disk',
  doc: "this member sees the shared disk's partitions with the wanted sizes, the service file systems and the quorum raw bindings (read-only check)",
  args: z.object({ ...haArg }).strict(),
  read(ctx) {
    const ha = haOf(ctx);
    const r = resolveSh(ha.shared_disk);
    const nums = deviceNumbers(ha);
    const sections: Record<string, string> = {
      dev: `${r}\nprintf '%s\\n' "$D"`,
      size: `${r}\n${DISK_SIZE_SH}`,
      partitions: 'cat /proc/partitions',
      raw: `${r}\nfor n in ${nums.slice(0, 2).join(' ')}; do [ -b "$P$n" ] && echo "node $n $(stat -L -c '%t %T' "$P$n")"; done\nif command -v raw >/dev/null 2>&1; then echo tool; raw -qa 2>/dev/null; fi; true`,
    };
    ha.services.forEach((_s, i) => {
      const n = nums[2 + i]!;
      sections[`fs${i}`] = `${r}\n[ -b "\${P}${n}" ] || { echo missing; exit 0; }\nblkid -p -o export "\${P}${n}"`;
    });
    return sections;
  },
  parse(res, ctx) {
    const ha = haOf(ctx);
    const st: DiskCheck = { dev: '', bytes: 0, sectorSize: 512, kernel: procPartitionSizes(res.partitions?.out ?? ''), fs: [], fsError: [], majmin: {}, rawTool: false, bound: [] };
    if (!res.dev || res.dev.rc !== 0) {
      st.missing = (res.dev?.err || res.dev?.out || 'no answer').trim();
      return st;
    }
    st.dev = res.dev.out.trim();
    const [b, ss] = (res.size?.out ?? '').trim().split(/\s+/);
    st.bytes = Number(b) || 0;
    st.sectorSize = Number(ss) || 512;
    ha.services.forEach((_s, i) => {
      const r = res[`fs${i}`];
      if (!r) { st.fs.push(null); st.fsError.push('no answer'); return; }
      if (r.rc === 0 && r.out.trim() === 'missing') { st.fs.push(null); st.fsError.push(undefined); return; }
      if (r.rc === BLKID_EXIT_NOTHING_FOUND) { st.fs.push(''); st.fsError.push(undefined); return; }
      if (r.rc !== 0) { st.fs.push(''); st.fsError.push(`blkid exit ${r.rc}: ${r.err.trim()}`); return; }
      try {
        st.fs.push(parseBlkidExport(r.out).TYPE ?? '');
        st.fsError.push(undefined);
      } catch (e) {
        st.fs.push('');
        st.fsError.push(errText(e));
      }
    });
    const raw = res.raw?.out ?? '';
    for (const m of raw.matchAll(/^node (\d+) ([0-9a-f]+) ([0-9a-f]+)$/gm)) st.majmin[Number(m[1])] = `${parseInt(m[2]!, 16)}:${parseInt(m[3]!, 16)}`;
    st.rawTool = /^tool$/m.test(raw);
    st.bound = parseRawQa(raw);
    return st;
  },
  check(st, ctx) {
    const ha = haOf(ctx);
    const host = ctx.host.name;
    if (st.missing) return { pass: false, reason: `shared disk ${ha.shared_disk} not found on ${host}: ${st.missing}` };
    let w;
    try {
      w = haLayout(ha, st.bytes, st.sectorSize);
    } catch (e) {
      return { pass: false, reason: `invalid HA disk layout: ${errText(e)}` };
    }
    const problems: string[] = [];
    const notes: string[] = [];
    // partitions and sizes, as the kernel sees them on this member
    const seen: string[] = [];
    for (const p of w.partitions) {
      if (p.role === 'extended') continue;
      const name = kernelName(partitionDevice(st.dev, p.number));
      const size = st.kernel.get(name);
      if (size === undefined) { problems.push(`${name} missing from /proc/partitions`); continue; }
      if (p.sizeSectors !== null && size !== p.sizeSectors * st.sectorSize)
        problems.push(`${name} is ${size} bytes (${formatSize(size)}), wanted ${p.sizeSectors * st.sectorSize} bytes (${formatSize(p.sizeSectors * st.sectorSize)})`);
      else seen.push(`${name.replace(/^.*?(\d+)$/, '$1')}=${formatSize(size)}`);
    }
    if (seen.length === w.partitions.filter((p) => p.role !== 'extended').length) notes.push(`${st.dev}: partitions ${seen.join(' ')}`);
    // service file systems
    ha.services.forEach((s, i) => {
      const part = partitionDevice(st.dev, w.deviceNumbers[2 + i]!);
      const want = s.fstype ?? 'ext3';
      const got = st.fs[i];
      if (st.fsError[i]) problems.push(`${part} (service ${s.name}): ${st.fsError[i]}`);
      else if (got === null || got === undefined) problems.push(`${part} (service ${s.name}) does not exist`);
      else if (got !== want) problems.push(`${part} (service ${s.name}) holds ${got || 'no file system'}, wanted ${want}`);
    });
    if (ha.services.length && !problems.some((p) => p.includes('(service '))) notes.push(`${ha.services.map((s) => s.fstype ?? 'ext3').join(', ')} on the service partitions`);
    // quorum raw bindings
    if (ctx.facts.features.raw === 'none') notes.push(`raw binding unsupported: kernel ${ctx.facts.kernel || '(unknown)'} has no raw driver (configuration only)`);
    else if (!st.rawTool) problems.push('the raw tool (util-linux) is not installed: cannot check the quorum raw bindings');
    else {
      const [p1, p2] = w.deviceNumbers;
      for (const [raw, n] of [[ha.quorum.primary, p1!], [ha.quorum.shadow, p2!]] as const) {
        const mm = st.majmin[n];
        const b = st.bound.find((x) => x.raw === raw);
        if (!mm) continue; // reported above as a missing partition
        if (!b || `${b.major}:${b.minor}` !== mm) problems.push(`${raw} ${b ? `bound to ${b.major}:${b.minor}` : 'not bound'}, wanted ${partitionDevice(st.dev, n)} (${mm})`);
      }
      if (!problems.some((p) => p.startsWith('/dev/raw') || p.includes(' bound'))) notes.push(`${ha.quorum.primary}, ${ha.quorum.shadow} bound to the quorum partitions`);
    }
    if (problems.length) return { pass: false, reason: `${host}: ${problems.join('; ')}` };
    return { pass: true, reason: notes.join('; ') || 'ok' };
  },
});

// --------------------------------------------------------------------------------------------------- check_lvs_http

const httpArgs = z.object({ requests: z.number().int().min(1).max(1000).default(30), /** the farm: playbooks pass "{{lvs}}" */ lvs: lvsSchema }).strict();

interface HttpState { answers: string[]; failed: number; error?: string }

export const checkLvsHttp = defineCheck<z.infer<typeof httpArgs>, HttpState>({
  name: 'check_lvs_http',
  doc: "HTTP requests to the LVS VIP (first tcp virtual service) are answered, and by every real server (read-only check, run on lvs.verify_from)",
  args: httpArgs,
  read(ctx) {
    const lvs = ctx.args.lvs;
    const vs = lvs.virtual_services.find((v) => (v.protocol ?? 'tcp') === 'tcp' && v.port);
    if (!vs) return { http: 'echo "no tcp virtual service in lvs:" >&2; exit 3' };
    const host = lvs.vip.includes(':') ? `[${lvs.vip}]` : lvs.vip;
    const url = `http://${host}:${vs.port}/`;
    // curl when present, else bash's /dev/tcp (busybox wget is not trusted); one line per request: "R <body>" or FAIL
    const one = [
      `if command -v curl >/dev/null 2>&1; then b=$(curl -s -f --connect-timeout 2 -m 4 ${q(url)}) || b=$'\\001'`,
      `else b=$(timeout 4 bash -c ${q(`exec 3<>${q(`/dev/tcp/${lvs.vip}/${vs.port}`)} && printf 'GET / HTTP/1.0\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' ${q(host)} >&3 && cat <&3`)} | sed '1,/^\\r\\{0,1\\}$/d') || b=$'\\001'; fi`,
      `if [ "$b" = $'\\001' ]; then echo FAIL; else printf 'R %s\\n' "$(printf '%s' "$b" | tr '\\r\\n' '  ')"; fi`,
    ].join('\n');
    return { http: `command -v bash >/dev/null 2>&1 || { echo "bash not found" >&2; exit 3; }\nbash -c ${q(`for i in $(seq ${q(String(ctx.args.requests))}); do\n${one}\ndone`)}` };
  },
  parse(res) {
    const r = res.http;
    if (!r || r.rc !== 0) return { answers: [], failed: 0, error: (r?.err || 'no answer').trim() };
    const lines = r.out.split('\n').filter((l) => l !== '');
    return { answers: lines.filter((l) => l.startsWith('R ')).map((l) => l.slice(2).trim()), failed: lines.filter((l) => l === 'FAIL').length };
  },
  check(st, ctx) {
    const lvs = ctx.args.lvs;
    if (st.error) return { pass: false, reason: `cannot send requests to ${lvs.vip}: ${st.error}` };
    const servers = lvs.real_servers.map((s) => s.host);
    const counts = new Map<string, number>();
    let unknown = 0;
    for (const a of st.answers) {
      const words = a.split(/[^A-Za-z0-9._-]+/);
      const who = servers.find((s) => words.includes(s));
      if (who) counts.set(who, (counts.get(who) ?? 0) + 1);
      else unknown++;
    }
    const total = st.answers.length + st.failed;
    const summary = `${st.answers.length}/${total} requests to ${lvs.vip} answered: ${servers.map((s) => `${s} ${counts.get(s) ?? 0}`).join(', ')}${unknown ? `, ${unknown} by a page naming no real server` : ''}`;
    const silent = servers.filter((s) => !counts.get(s));
    if (st.failed || silent.length) return { pass: false, reason: `${summary}${silent.length ? `; no answer from ${silent.join(', ')}` : ''}` };
    return { pass: true, reason: summary };
  },
});
