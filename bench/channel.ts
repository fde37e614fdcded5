// What a round trip costs with a new exec channel (how the engine runs each probe and apply today: sshd forks a
// session, starts the user's shell) against a message through one held shell (what one long-lived remote shell per
// host would cost): the same ssh2 transport, every host at once, `rounds` sequential round trips each.
import { SshTransport } from '../src/transport/ssh.js';
import { localTargetOptions, sshTarget } from '../src/transport/targets.js';

export interface ChannelHost { name: string; address: string; key: string; knownHosts: string }
export interface ChannelCost { hosts: number; rounds: number; handshake_ms: number; exec_ms: number; message_ms: number }

const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2; };
const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;

// the connect timeout as the bench's inventories give labs of more than 200 hosts (every key exchange at once)
async function oneHost(h: ChannelHost, rounds: number, out: { handshake: number[]; exec: number[]; message: number[] }): Promise<void> {
  const target = sshTarget(h.name, { alias: h.address, user: 'root', privateKey: h.key, knownHosts: h.knownHosts, strictHostKeyChecking: 'yes', commandTimeoutMs: 60_000, connectTimeoutMs: 60_000 }, localTargetOptions('/dev/null', false));
  const t = new SshTransport(target);
  let t0 = process.hrtime.bigint();
  await t.connect();
  out.handshake.push(since(t0));
  try {
    for (let i = 0; i < rounds; i++) {
      t0 = process.hrtime.bigint();
      const r = await t.exec('true');
      if (r.code !== 0) throw new Error(`${h.name}: true exited ${r.code}`);
      out.exec.push(since(t0));
    }
    const sh = await t.hold('sh');
    for (let i = 0; i < rounds; i++) {
      t0 = process.hrtime.bigint();
      sh.write(`true; echo m${i}\n`);
      await sh.until(`m${i}`, 60_000);
      out.message.push(since(t0));
    }
    await sh.end();
  } finally {
    await t.close();
  }
}

export async function channelCost(hosts: ChannelHost[], rounds = 10): Promise<ChannelCost> {
  const out = { handshake: [] as number[], exec: [] as number[], message: [] as number[] };
  await Promise.all(hosts.map((h) => oneHost(h, rounds, out)));
  const r = (x: number) => Math.round(x * 10) / 10;
  return { hosts: hosts.length, rounds, handshake_ms: r(median(out.handshake)), exec_ms: r(median(out.exec)), message_ms: r(median(out.message)) };
}
