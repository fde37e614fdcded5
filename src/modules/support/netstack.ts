// The network stack a host really uses (a read snippet + a pure parser, like a pyinfra fact), which one keeps a given
// interface's configuration across reboots, and the files/units/nmcli steps clusterform keeps there (renderers and a
// plan that writes the wanted form and removes every other form clusterform left before: never two at once).
import type { Change } from '../../engine/types.js';
import { unifiedDiff } from '../../util/diff.js';
import { cmd, q } from '../../util/shell.js';
import { MANAGED } from './files.js';

export type Backend = 'ifupdown' | 'networkd' | 'nm' | 'network-scripts' | 'unit';

/** What the host runs for its network, as netStackSh prints it. */
export interface NetStack {
  /** systemd is PID 1 (/run/systemd/system) */
  systemd: boolean;
  /** systemd units: name (without .service) → is-active / is-enabled words */
  units: Record<string, { active: string; enabled: string }>;
  /** SysV init scripts enabled in a runlevel (networking, network) */
  sysv: string[];
  /** /etc/network/interfaces exists, and sources /etc/network/interfaces.d */
  interfaces: boolean;
  interfacesD: boolean;
  /** /etc/sysconfig/network-scripts holds ifcfg-* files */
  networkScripts: boolean;
  /** systemd-networkd links: name → ADMIN_STATE (unmanaged, configuring, configured…) and .network file ('' when none) */
  networkd: Record<string, { setup: string; file: string }>;
  /** NetworkManager devices: name → state and connection ('' when none) */
  nm: Record<string, { state: string; con: string }>;
}

/** Read snippet: prints one `key value` line per fact (see NetStack). Read-only; every probe may fail. */
export function netStackSh(): string {
  return [
    'if [ -d /run/systemd/system ]; then echo systemd',
    `  for u in networking systemd-networkd NetworkManager network; do printf 'unit %s %s %s\\n' "$u" "$(systemctl is-active "$u.service" 2>/dev/null)" "$(systemctl is-enabled "$u.service" 2>/dev/null)"; done`,
    'else',
    '  for s in networking network; do for l in /etc/rc[2345].d/S[0-9][0-9]"$s" /etc/rc.d/rc[2345].d/S[0-9][0-9]"$s"; do if [ -e "$l" ]; then echo "sysv $s"; break; fi; done; done',
    'fi',
    '[ -f /etc/network/interfaces ] && echo interfaces',
    "grep -Eqs '^[[:space:]]*source(-directory)?[[:space:]]+/etc/network/interfaces\\.d' /etc/network/interfaces && echo interfaces.d",
    'ls /etc/sysconfig/network-scripts/ifcfg-* >/dev/null 2>&1 && echo network-scripts',
    // networkd's per-link state files (networkctl needs D-Bus, which minimal images lack): ADMIN_STATE and NETWORK_FILE
    'if [ -d /run/systemd/netif/links ]; then for d in /sys/class/net/*; do i=$(cat "$d/ifindex" 2>/dev/null) || continue; l="/run/systemd/netif/links/$i"; [ -f "$l" ] || continue;',
    `  printf 'networkd %s %s %s\\n' "\${d##*/}" "$(sed -n 's/^ADMIN_STATE=//p' "$l")" "$(sed -n 's/^NETWORK_FILE=//p' "$l")"; done; fi`,
    "if command -v nmcli >/dev/null 2>&1; then nmcli -t -f DEVICE,STATE,CONNECTION device status 2>/dev/null | sed 's/^/nm /'; fi",
    'true',
  ].join('\n');
}

/** `nmcli -t` fields: split on `:` not escaped by a backslash, then unescape. */
export function nmcliFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) cur += line[++i];
    else if (c === ':') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

export function parseNetStack(text: string): NetStack {
  const ns: NetStack = { systemd: false, units: {}, sysv: [], interfaces: false, interfacesD: false, networkScripts: false, networkd: {}, nm: {} };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const sp = line.indexOf(' ');
    const key = sp < 0 ? line.trim() : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    const w = rest.trim().split(/\s+/);
    if (key === 'systemd') ns.systemd = true;
    else if (key === 'unit' && w[0]) ns.units[w[0]] = { active: w[1] ?? '', enabled: w[2] ?? '' };
    else if (key === 'sysv' && w[0]) ns.sysv.push(w[0]);
    else if (key === 'interfaces') ns.interfaces = true;
    else if (key === 'interfaces.d') ns.interfacesD = true;
    else if (key === 'network-scripts') ns.networkScripts = true;
    else if (key === 'networkd' && w[0]) ns.networkd[w[0]] = { setup: w[1] ?? '', file: w.slice(2).join(' ') };
    else if (key === 'nm' && rest !== '') {
      const [dev, state, con] = nmcliFields(rest);
      if (dev) ns.nm[dev] = { state: state ?? '', con: con ?? '' };
    }
  }
  return ns;
}

const ENABLED = new Set(['enabled', 'enabled-runtime', 'static', 'alias', 'generated', 'indirect']);
const unitUp = (ns: NetStack, u: string) => ns.units[u]?.active === 'active' || ENABLED.has(ns.units[u]?.enabled ?? '');
const unitActive = (ns: NetStack, u: string) => ns.units[u]?.active === 'active';

export const nmActive = (ns: NetStack): boolean => unitActive(ns, 'NetworkManager');
/** NetworkManager keeps `dev` in a profile of its own (an external or unmanaged device is not NM's to persist). */
export const nmConnection = (ns: NetStack, dev: string): string | undefined => {
  const d = ns.nm[dev];
  return nmActive(ns) && d && d.con !== '' && d.state.startsWith('connected') && !d.state.includes('external') ? d.con : undefined;
};
/** systemd-networkd runs and configures some link from a .network file. */
export const networkdInUse = (ns: NetStack): boolean =>
  unitActive(ns, 'systemd-networkd') && Object.values(ns.networkd).some((l) => l.file !== '' && l.setup !== 'unmanaged');
const networkdFile = (ns: NetStack, dev: string): string | undefined => {
  const l = ns.networkd[dev];
  return networkdInUse(ns) && l && l.file !== '' && l.setup !== 'unmanaged' ? l.file : undefined;
};
/** ifupdown brings interfaces up at boot and reads /etc/network/interfaces.d. */
export const ifupdownInUse = (ns: NetStack): boolean =>
  ns.interfaces && ns.interfacesD && (ns.systemd ? unitUp(ns, 'networking') : ns.sysv.includes('networking'));
/** RHEL network-scripts (the legacy `network` service) with ifcfg files, and no NetworkManager. */
export const networkScriptsInUse = (ns: NetStack): boolean =>
  ns.networkScripts && !nmActive(ns) && (ns.systemd ? unitUp(ns, 'network') : ns.sysv.includes('network'));

export interface BackendPick {
  backend: Backend;
  /** nm: the connection that owns the device; networkd: the device's .network file (own: clusterform's for lo) */
  con?: string;
  file?: string;
  own?: boolean;
  /** why a less obvious backend was chosen */
  note?: string;
}

/**
 * Which backend keeps `dev`'s configuration at boot. The rule, first match wins:
 *  1. NetworkManager runs and owns the device (a connection, not "externally"/unmanaged) → nmcli on that connection;
 *  2. systemd-networkd runs and configures the device from a .network file → a drop-in for that file;
 *  3. ifupdown is enabled (networking) and /etc/network/interfaces sources interfaces.d → a file there
 *     (lo is in /etc/network/interfaces on Debian and never NM's: a Debian desktop with NM still gets ifupdown for lo);
 *  4. RHEL network-scripts (network service enabled, ifcfg files, NetworkManager not running) → ifcfg/route files;
 *  5. systemd-networkd is the host's stack and the device is lo (networkd leaves lo alone) → clusterform's own .network;
 *  6. systemd → clusterform's own oneshot unit (minimal images; devices none of the above owns, e.g. lo/tunl0 under NM);
 *  null: no way to persist (no systemd, none of the above).
 */
export function pickBackend(ns: NetStack, dev: string): BackendPick | null {
  const con = nmConnection(ns, dev);
  if (con !== undefined) return { backend: 'nm', con };
  const file = networkdFile(ns, dev);
  // after a reboot networkd configures lo from clusterform's own file: still clusterform's (kept, not a stale form)
  if (file !== undefined) return { backend: 'networkd', file, ...(file === NETWORKD_LO ? { own: true } : {}) };
  if (ifupdownInUse(ns)) return { backend: 'ifupdown' };
  if (networkScriptsInUse(ns)) return { backend: 'network-scripts' };
  if (networkdInUse(ns) && dev === 'lo') return { backend: 'networkd', file: NETWORKD_LO, own: true };
  if (ns.systemd) return { backend: 'unit', ...(nmActive(ns) ? { note: `NetworkManager does not manage ${dev}: clusterform's own unit keeps it` } : {}) };
  return null;
}

/** Why nothing can be persisted (pickBackend gave null). */
export const noBackendNote = (what: string): string =>
  `${what} not persisted: this host has no systemd and none of ifupdown (networking enabled, interfaces.d sourced), network-scripts, systemd-networkd, NetworkManager`;

// ---- where clusterform keeps things ---------------------------------------------------------------------------------

export const NETWORKD_DIR = '/etc/systemd/network';
export const NETWORKD_LO = `${NETWORKD_DIR}/10-clusterform-lo.network`;
export const UNIT_DIR = '/etc/systemd/system';
export const NM_RECORD_DIR = '/var/lib/clusterform/nm';
const base = (p: string) => p.replace(/^.*\//, '');
export const dropInPath = (networkFile: string, name: string): string => `${NETWORKD_DIR}/${base(networkFile)}.d/clusterform-${name}.conf`;
export const unitPath = (unit: string): string => `${UNIT_DIR}/${unit}`;

/** The base .network clusterform owns for lo under systemd-networkd; the addresses are drop-ins beside it. */
export function renderNetworkdLo(): string {
  // KeepConfiguration=yes: networkd must not drop 127.0.0.1/8 and ::1 (which it did not configure) from lo
  return [MANAGED, '[Match]', 'Name=lo', '', '[Network]', 'KeepConfiguration=yes', '', '[Link]', 'RequiredForOnline=no', ''].join('\n');
}

export interface UnitSpec { description: string; after: string[]; wants?: string[]; pre?: string[]; start: string[]; stop?: string[] }

/** A oneshot unit of clusterform's own: runs `start` at boot (RemainAfterExit), `stop` (failures ignored) when stopped. */
export function renderUnit(u: UnitSpec): string {
  return [
    MANAGED,
    '[Unit]',
    `Description=clusterform: ${u.description}`,
    `After=${u.after.join(' ')}`,
    ...(u.wants?.length ? [`Wants=${u.wants.join(' ')}`] : []),
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    ...(u.pre ?? []).map((c) => `ExecStartPre=-${c}`),
    ...u.start.map((c) => `ExecStart=${c}`),
    ...(u.stop ?? []).map((c) => `ExecStop=-${c}`),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

// ---- what clusterform has on the host, and the plan that keeps exactly one form -------------------------------------

/** One way the configuration is kept: a file (possibly a unit to enable), or an nmcli property of a connection. */
export type Artifact =
  | { kind: 'file'; path: string; content: string; unit?: string }
  | { kind: 'nm'; record: string; con: string; prop: string; value: string; /** the value before clusterform (ipv4.gateway) */ prev?: string };

/** What the persist read found: clusterform's files (path → content), other files on the wanted paths, units, nm. */
export interface Found {
  files: Record<string, string>;
  foreign: string[];
  enabled: Record<string, boolean>;
  /** nm records: record path → its fields (con, prop, value, prev) */
  nmRecords: Record<string, Record<string, string>>;
  /** connection → property → value list as nmcli -g prints it */
  nmValues: Record<string, Record<string, string>>;
}

/**
 * Read snippet: every candidate path (globs allowed) that exists: `@@file PATH` + its lines prefixed with `|` when it
 * is clusterform's, `@@foreign PATH` when not; `@@enabled UNIT` for enabled units; for each nm record, its connection's
 * current value. `nm` asks NetworkManager for a device's connection and a property's current value.
 */
export function foundSh(paths: string[], units: string[], nmRecords: string[], nm?: { devSh: string; props: string[] }): string {
  const lines = [
    `for f in ${paths.map((p) => p.split('*').map((x) => (x === '' ? '' : q(x))).join('*')).join(' ')}; do [ -f "$f" ] || continue;`,
    `  if [ "$(head -n 1 "$f")" = ${q(MANAGED)} ]; then printf '@@file %s\\n' "$f"; awk '{ print "|" $0 }' "$f"; else printf '@@foreign %s\\n' "$f"; fi; done`,
  ];
  if (units.length) lines.push(`if [ -d /run/systemd/system ]; then for u in ${units.map(q).join(' ')}; do systemctl is-enabled --quiet "$u" 2>/dev/null && printf '@@enabled %s\\n' "$u"; done; fi`);
  const nmVal = (con: string, prop: string) => `printf '@@nmval %s %s\\n' ${prop} "${con}"; nmcli -g ${prop} connection show "${con}" 2>/dev/null | sed 's/^/|/'`;
  if (nmRecords.length || nm) lines.push('if command -v nmcli >/dev/null 2>&1; then');
  for (const r of nmRecords) lines.push(`  if [ -f ${q(r)} ]; then C=$(sed -n 's/^con=//p' ${q(r)}); P=$(sed -n 's/^prop=//p' ${q(r)}); case "$P" in ipv4.addresses|ipv6.addresses|ipv4.gateway|ipv4.routes) ${nmVal('$C', '"$P"')};; esac; fi`);
  if (nm) {
    lines.push(`  C=$(nmcli -g GENERAL.CONNECTION device show ${nm.devSh} 2>/dev/null)`);
    lines.push(`  if [ -n "$C" ]; then ${nm.props.map((p) => nmVal('$C', p)).join('; ')}; fi`);
  }
  if (nmRecords.length || nm) lines.push('fi');
  lines.push('true');
  return lines.join('\n');
}

export function parseFound(text: string): Found {
  const f: Found = { files: {}, foreign: [], enabled: {}, nmRecords: {}, nmValues: {} };
  let into: ((l: string) => void) | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('|')) { into?.(line.slice(1)); continue; }
    into = null;
    const m = /^@@(\w+) (.*)$/.exec(line);
    if (!m) continue;
    const [, tag, arg] = m as unknown as [string, string, string];
    if (tag === 'file') { const p = arg; f.files[p] = ''; into = (l) => { f.files[p] += l + '\n'; }; }
    else if (tag === 'foreign') f.foreign.push(arg);
    else if (tag === 'enabled') f.enabled[arg] = true;
    else if (tag === 'nmval') {
      const sp = arg.indexOf(' ');
      const prop = arg.slice(0, sp);
      const con = arg.slice(sp + 1);
      const vals = (f.nmValues[con] ??= {});
      vals[prop] = '';
      into = (l) => { vals[prop] = vals[prop] === '' ? l : `${vals[prop]}\n${l}`; };
    }
  }
  for (const [p, content] of Object.entries(f.files)) if (p.startsWith(NM_RECORD_DIR + '/')) f.nmRecords[p] = recordFields(content);
  return f;
}

const recordFields = (content: string): Record<string, string> =>
  Object.fromEntries(content.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

/** nmcli -g list values (`a, b`; `:` escaped as `\:` in IPv6 addresses) → items. */
export const nmList = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim().replace(/\\(.)/g, '$1')).filter((s) => s !== '');

export function renderNmRecord(a: Extract<Artifact, { kind: 'nm' }>): string {
  return [MANAGED, `con=${a.con}`, `prop=${a.prop}`, `value=${a.value}`, ...(a.prev !== undefined ? [`prev=${a.prev}`] : []), ''].join('\n');
}

/** nmcli properties that hold a list (+/- add and remove one item). */
const isList = (prop: string) => prop.endsWith('.addresses') || prop.endsWith('.routes');
const shStep = (argv: string[]) => ({ kind: 'sh' as const, script: cmd(argv), desc: argv.join(' ') });

/** nmcli steps that set an artifact's property on its connection (no reapply: the live state is set with ip). */
function nmSet(a: Extract<Artifact, { kind: 'nm' }>): Change['actions'] {
  return isList(a.prop) ? [shStep(['nmcli', 'connection', 'modify', a.con, `+${a.prop}`, a.value])] : [shStep(['nmcli', 'connection', 'modify', a.con, a.prop, a.value])];
}
function nmUnset(r: Record<string, string>): Change['actions'] {
  if (!r.con || !r.prop || !r.value) return [];
  return isList(r.prop) ? [shStep(['nmcli', 'connection', 'modify', r.con, `-${r.prop}`, r.value])] : [shStep(['nmcli', 'connection', 'modify', r.con, r.prop, r.prev ?? ''])];
}
const nmHas = (found: Found, con: string, prop: string, value: string) =>
  isList(prop) ? nmList(found.nmValues[con]?.[prop]).includes(value) : (found.nmValues[con]?.[prop] ?? '').trim() === value;

// only where systemd runs (a unit file left on a host that no longer boots with systemd is still removed)
const daemonReload = { kind: 'sh' as const, script: 'if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi', desc: 'systemctl daemon-reload' };
const unitOf = (path: string) => (path.startsWith(UNIT_DIR + '/') ? base(path) : undefined);

/** The change that puts `a` in place, or null when it is there. */
function planArtifact(a: Artifact, found: Found, what: string): Change | null {
  if (a.kind === 'nm') {
    const rec = renderNmRecord(a);
    const has = nmHas(found, a.con, a.prop, a.value);
    if (has && found.files[a.record] === rec) return null;
    const actions: Change['actions'] = [...(has ? [] : nmSet(a)), ...(found.files[a.record] === rec ? [] : [{ kind: 'write' as const, path: a.record, content: rec, mode: '0644', mkdir: true }])];
    return { summary: `keep ${what} at boot (NetworkManager connection ${JSON.stringify(a.con)}: ${a.prop} ${a.value}, recorded in ${a.record})`, actions };
  }
  const cur = found.files[a.path];
  const enabled = a.unit === undefined || found.enabled[a.unit] === true;
  if (cur === a.content && enabled) return null;
  const actions: Change['actions'] = [];
  if (cur !== a.content) actions.push({ kind: 'write', path: a.path, content: a.content, mode: '0644', mkdir: true });
  if (a.unit) actions.push(daemonReload, shStep(['systemctl', 'enable', '--quiet', a.unit]));
  return { summary: `keep ${what} at boot (${a.path}${a.unit ? ', enabled' : ''})`, ...(cur !== a.content ? { diff: unifiedDiff(cur ?? '', a.content, a.path) } : {}), actions };
}

/** The change that removes clusterform's file at `path`: an nm record undoes its nmcli change first, a unit is disabled, an emptied drop-in directory goes too. */
function planRemoveFile(path: string, found: Found): Change {
  const unit = unitOf(path);
  const rec = found.nmRecords[path];
  const actions: Change['actions'] = [];
  if (rec && nmHas(found, rec.con ?? '', rec.prop ?? '', rec.value ?? '')) actions.push(...nmUnset(rec));
  if (unit) actions.push(shStep(['systemctl', 'disable', '--quiet', unit]));
  actions.push({ kind: 'remove', path });
  if (unit) actions.push(daemonReload);
  if (/\.network\.d\/[^/]+$/.test(path)) actions.push(shStep(['rmdir', '--ignore-fail-on-non-empty', path.replace(/\/[^/]+$/, '')]));
  const summary = rec ? `remove ${rec.prop} ${rec.value} from NetworkManager connection ${JSON.stringify(rec.con)} (${path})` : `remove ${path}`;
  return { summary, diff: unifiedDiff(found.files[path] ?? '', '', path), actions };
}

/**
 * Changes that leave exactly `wanted` (none on absent) of clusterform's forms: write/enable/nmcli what is missing,
 * remove every other clusterform file `found` lists (a stale form from another backend, or all of them on absent).
 * `keep` lists clusterform files to leave alone (shared ones still used, e.g. the lo .network of other addresses).
 */
export function planPersist(wanted: Artifact[], found: Found, what: string, keep: string[] = []): Change[] {
  const changes: Change[] = [];
  const wantedPaths = new Set(wanted.map((a) => (a.kind === 'file' ? a.path : a.record)));
  for (const p of Object.keys(found.files).sort()) if (!wantedPaths.has(p) && !keep.includes(p)) changes.push(planRemoveFile(p, found));
  for (const a of wanted) {
    const c = planArtifact(a, found, what);
    if (c) changes.push(c);
  }
  return changes;
}
