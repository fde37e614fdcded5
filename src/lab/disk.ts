// Shared disks: sparse image files, loop devices for ns hosts, stable /dev/disk/by-id symlinks.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, open, rm, rmdir, symlink, unlink, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './sh.js';
import type { LabConfig, LabDisk } from './types.js';

export const BY_ID_DIR = '/dev/disk/by-id';

/** Loop devices whose backing file lies under `dir` (or is `file`): [{dev, file}] */
export async function loopsBackedBy(pred: (file: string) => boolean): Promise<{ dev: string; file: string }[]> {
  const r = await run('losetup', ['--list', '--noheadings', '--raw', '--output', 'NAME,BACK-FILE'], { allowFail: true });
  const out: { dev: string; file: string }[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    // losetup --raw escapes spaces as \x20; strip a trailing " (deleted)"
    const file = m[2]!.replace(/\\x20/g, ' ').replace(/ \(deleted\)$/, '');
    if (pred(file)) out.push({ dev: m[1]!, file });
  }
  return out;
}

export async function ensureImage(d: LabDisk): Promise<void> {
  await mkdir(path.dirname(d.image), { recursive: true });
  if (existsSync(d.image)) return;
  const tmp = `${d.image}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.truncate(d.sizeBytes);
  } finally {
    await fh.close();
  }
  await rename(tmp, d.image);
}

/** Directories of /dev/disk/by-id that we had to create (to remove on down when empty). */
export async function ensureByIdDir(): Promise<string[]> {
  const created: string[] = [];
  for (const d of ['/dev/disk', BY_ID_DIR]) {
    if (!existsSync(d)) {
      await mkdir(d, { mode: 0o755 });
      created.push(d);
    }
  }
  // remembered machine-wide too: when labs overlap, the last one down removes what the first one created
  if (created.length) {
    await mkdir(path.dirname(DEV_MARKER), { recursive: true });
    await writeFile(DEV_MARKER, created.join('\n') + '\n');
  }
  return created;
}

const DEV_MARKER = '/run/clusterform-lab/dev-dirs-created';

/** Attaches the image to a loop device (reusing an existing one) and points the by-id symlink at it. */
export async function ensureLoop(d: LabDisk, log: (s: string) => void): Promise<string> {
  const existing = await loopsBackedBy((f) => f === d.image);
  let dev = existing[0]?.dev;
  if (!dev) {
    dev = (await run('losetup', ['-f', '--show', '-P', d.image])).stdout.trim();
    log(`lab: disk ${d.name} attached as ${dev}`);
  }
  let current: string | undefined;
  try {
    if (lstatSync(d.byIdPath).isSymbolicLink()) current = readlinkSync(d.byIdPath);
  } catch {
    /* missing */
  }
  if (current !== dev) {
    const tmp = `${d.byIdPath}.cf-tmp`;
    await rm(tmp, { force: true });
    await symlink(dev, tmp);
    await rename(tmp, d.byIdPath);
  }
  return dev;
}

/** Detaches every loop device backed by a file under the lab's stateDir and removes the by-id links. */
export async function removeDisks(cfg: LabConfig, createdDirs: string[]): Promise<void> {
  const prefix = cfg.stateDir + path.sep;
  for (const d of cfg.disks) {
    try {
      if (lstatSync(d.byIdPath).isSymbolicLink()) await unlink(d.byIdPath);
    } catch {
      /* missing */
    }
  }
  for (const l of await loopsBackedBy((f) => f.startsWith(prefix))) {
    await run('losetup', ['-d', l.dev], { allowFail: true });
  }
  let marked: string[] = [];
  try {
    marked = readFileSync(DEV_MARKER, 'utf8').split('\n').filter(Boolean);
  } catch {
    /* no marker */
  }
  for (const dir of [...new Set([...createdDirs, ...marked])].sort((a, b) => b.length - a.length)) {
    try {
      if (readdirSync(dir).length === 0) await rmdir(dir);
    } catch {
      /* not empty or gone */
    }
  }
  if (marked.length && marked.every((d) => !existsSync(d))) {
    await rm(DEV_MARKER, { force: true });
    await rmdir(path.dirname(DEV_MARKER)).catch(() => {});
  }
}
