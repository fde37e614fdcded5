/** Fewest ipvsadm edits from the live table to the wanted one. Pure. */
import {
  destOptions,
  hostPort,
  serviceOptions,
  serviceSelector,
  type IpvsDest,
  type IpvsService,
} from '../parsers/ipvsadm.js';

export interface IpvsEdit {
  /** ipvsadm argument vector without the program name */
  argv: string[];
  summary: string;
}

export interface IpvsPlan {
  edits: IpvsEdit[];
  /** keys of live services neither wanted nor owned: left alone */
  foreign: string[];
}

function destKey(d: IpvsDest): string {
  return hostPort(d.address, d.port);
}

function normFlags(s: IpvsService): string {
  return [...(s.flags ?? [])].sort().join(',');
}

function normNetmask(s: IpvsService): string | undefined {
  if (s.persistence === undefined) return undefined;
  const m = s.netmask;
  if (m === undefined || m === '255.255.255.255' || m === '128') return undefined;
  return m;
}

/** Differences in service options that need `-E`; empty when none. */
export function serviceDiffs(cur: IpvsService, want: IpvsService): string[] {
  const d: string[] = [];
  if (cur.scheduler !== want.scheduler) d.push(`scheduler ${cur.scheduler} → ${want.scheduler}`);
  if (cur.persistence !== want.persistence)
    d.push(`persistence ${cur.persistence ?? 'off'} → ${want.persistence ?? 'off'}`);
  if (normNetmask(cur) !== normNetmask(want)) d.push(`netmask ${cur.netmask ?? 'none'} → ${want.netmask ?? 'none'}`);
  if (normFlags(cur) !== normFlags(want)) d.push(`flags ${normFlags(cur) || 'none'} → ${normFlags(want) || 'none'}`);
  if ((cur.pe ?? '') !== (want.pe ?? '')) d.push(`pe ${cur.pe ?? 'none'} → ${want.pe ?? 'none'}`);
  if (!!cur.ops !== !!want.ops) d.push(`ops ${!!cur.ops} → ${!!want.ops}`);
  return d;
}

/** Differences in a real server that need `-e`; empty when none. */
export function destDiffs(cur: IpvsDest, want: IpvsDest): string[] {
  const d: string[] = [];
  if (cur.forwarding !== want.forwarding) d.push(`forwarding ${cur.forwarding} → ${want.forwarding}`);
  if (cur.weight !== want.weight) d.push(`weight ${cur.weight} → ${want.weight}`);
  if ((cur.uThreshold ?? 0) !== (want.uThreshold ?? 0)) d.push(`u-threshold ${cur.uThreshold ?? 0} → ${want.uThreshold ?? 0}`);
  if ((cur.lThreshold ?? 0) !== (want.lThreshold ?? 0)) d.push(`l-threshold ${cur.lThreshold ?? 0} → ${want.lThreshold ?? 0}`);
  return d;
}

/**
 * Order: 1) `-d` removed dests of wanted services, 2) `-D` owned services no longer wanted, `-E`
 * changed services, `-A` new services, 3) `-a` new dests, `-e` changed dests. Within a phase, services
 * follow the wanted order (current order for -D) and dests their list order. Never `-C`; foreign
 * services (live, not wanted, not owned) and their dests are never touched.
 */
export function planIpvsEdits(current: IpvsService[], wanted: IpvsService[], owned: string[]): IpvsPlan {
  const cur = new Map(current.map((s) => [s.key, s]));
  const wantKeys = new Set(wanted.map((s) => s.key));
  const ownedSet = new Set(owned);
  const dels: IpvsEdit[] = [];
  const svcEdits: IpvsEdit[] = [];
  const destEdits: IpvsEdit[] = [];
  const seen = new Set<string>();
  for (const w of wanted) {
    if (seen.has(w.key)) throw new Error(`wanted service ${w.key} listed twice`);
    seen.add(w.key);
    const seenDests = new Set<string>();
    for (const d of w.dests) {
      if (seenDests.has(destKey(d))) throw new Error(`real server ${destKey(d)} listed twice in ${w.key}`);
      seenDests.add(destKey(d));
    }
  }

  for (const c of current) {
    if (!wantKeys.has(c.key) && ownedSet.has(c.key))
      svcEdits.push({ argv: ['-D', ...serviceSelector(c)], summary: `delete service ${c.key} (no longer wanted)` });
  }
  for (const w of wanted) {
    const sel = serviceSelector(w);
    const c = cur.get(w.key);
    if (!c) {
      svcEdits.push({ argv: ['-A', ...sel, ...serviceOptions(w)], summary: `add service ${w.key} (${w.scheduler})` });
      for (const d of w.dests)
        destEdits.push({ argv: ['-a', ...sel, ...destOptions(d)], summary: `add real server ${destKey(d)} to ${w.key} (${d.forwarding}, weight ${d.weight})` });
      continue;
    }
    const sd = serviceDiffs(c, w);
    if (sd.length) svcEdits.push({ argv: ['-E', ...sel, ...serviceOptions(w)], summary: `edit service ${w.key}: ${sd.join(', ')}` });
    const curDests = new Map(c.dests.map((d) => [destKey(d), d]));
    const wantDests = new Set(w.dests.map(destKey));
    for (const d of c.dests) {
      if (!wantDests.has(destKey(d)))
        dels.push({ argv: ['-d', ...sel, '-r', destKey(d)], summary: `remove real server ${destKey(d)} from ${w.key}` });
    }
    for (const d of w.dests) {
      const cd = curDests.get(destKey(d));
      if (!cd) {
        destEdits.push({ argv: ['-a', ...sel, ...destOptions(d)], summary: `add real server ${destKey(d)} to ${w.key} (${d.forwarding}, weight ${d.weight})` });
        continue;
      }
      const dd = destDiffs(cd, d);
      if (dd.length) {
        const thresholds = !!(cd.uThreshold || cd.lThreshold || d.uThreshold || d.lThreshold);
        destEdits.push({ argv: ['-e', ...sel, ...destOptions(d, thresholds)], summary: `edit real server ${destKey(d)} in ${w.key}: ${dd.join(', ')}` });
      }
    }
  }
  const foreign = current.filter((s) => !wantKeys.has(s.key) && !ownedSet.has(s.key)).map((s) => s.key);
  return { edits: [...dels, ...svcEdits, ...destEdits], foreign };
}
