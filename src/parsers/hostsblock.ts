/**
 * A managed block in /etc/hosts, one per cluster:
 *   # BEGIN clusterform managed block (<cluster>)
 *   10.0.0.1 node1 node1.example.com
 *   # END clusterform managed block (<cluster>)
 * Every line outside the block stays byte-identical. Pure.
 */

export interface HostsEntry {
  address: string;
  names: string[];
}

export class HostsBlockError extends Error {
  override name = 'HostsBlockError';
}

export function beginMarker(cluster: string): string {
  return `# BEGIN clusterform managed block (${cluster})`;
}
export function endMarker(cluster: string): string {
  return `# END clusterform managed block (${cluster})`;
}

function checkCluster(cluster: string): void {
  if (cluster === '' || /[\r\n()]/.test(cluster)) throw new HostsBlockError(`invalid cluster name for a hosts block: ${JSON.stringify(cluster)}`);
}

/** The block, markers included, ending with a newline. */
export function renderHostsBlock(cluster: string, entries: HostsEntry[]): string {
  checkCluster(cluster);
  const lines = [beginMarker(cluster)];
  for (const e of entries) {
    if (!/^[0-9A-Fa-f.:]+(%[A-Za-z0-9._-]+)?$/.test(e.address)) throw new HostsBlockError(`invalid address ${JSON.stringify(e.address)}`);
    if (e.names.length === 0) throw new HostsBlockError(`no names for ${e.address}`);
    for (const n of e.names)
      if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(n) && !/^[A-Za-z0-9]$/.test(n))
        throw new HostsBlockError(`invalid host name ${JSON.stringify(n)}`);
    lines.push(`${e.address} ${e.names.join(' ')}`);
  }
  lines.push(endMarker(cluster));
  return lines.join('\n') + '\n';
}

/** Locate the block: [start, end) character offsets covering whole lines (incl. END's newline), or null. */
function findBlock(current: string, cluster: string): { start: number; end: number } | null {
  const begin = beginMarker(cluster);
  const end = endMarker(cluster);
  // split keeping offsets
  const lines: { text: string; start: number; end: number }[] = [];
  let pos = 0;
  while (pos < current.length) {
    const nl = current.indexOf('\n', pos);
    const stop = nl === -1 ? current.length : nl + 1;
    lines.push({ text: current.slice(pos, nl === -1 ? current.length : nl).replace(/\r$/, ''), start: pos, end: stop });
    pos = stop;
  }
  const begins = lines.filter((l) => l.text.trim() === begin);
  const ends = lines.filter((l) => l.text.trim() === end);
  if (begins.length === 0 && ends.length === 0) return null;
  if (begins.length > 1 || ends.length > 1)
    throw new HostsBlockError(`hosts file has ${begins.length} BEGIN and ${ends.length} END markers for cluster ${cluster}; fix it by hand`);
  if (begins.length !== 1 || ends.length !== 1)
    throw new HostsBlockError(`hosts file has a ${begins.length ? 'BEGIN' : 'END'} marker without its ${begins.length ? 'END' : 'BEGIN'} for cluster ${cluster}; fix it by hand`);
  if (ends[0]!.start < begins[0]!.start) throw new HostsBlockError(`hosts file has the END marker before the BEGIN marker for cluster ${cluster}; fix it by hand`);
  return { start: begins[0]!.start, end: ends[0]!.end };
}

/** Replace the cluster's block in place, or append it (after a newline if the file lacks a trailing one). */
export function applyHostsBlock(current: string, cluster: string, entries: HostsEntry[]): string {
  const block = renderHostsBlock(cluster, entries);
  const found = findBlock(current, cluster);
  if (found) {
    return current.slice(0, found.start) + block + current.slice(found.end);
  }
  const sep = current === '' || current.endsWith('\n') ? '' : '\n';
  return current + sep + block;
}

/** Remove the cluster's block (markers included); the file is unchanged when there is none. */
export function removeHostsBlock(current: string, cluster: string): string {
  checkCluster(cluster);
  const found = findBlock(current, cluster);
  if (!found) return current;
  return current.slice(0, found.start) + current.slice(found.end);
}
