// What the LVS failover lab tests share: a web server on a real server that answers with its host name, and a client
// that sends a request through the VIP every 50 ms and logs each answer with its time (the probe runs on the client
// itself; ns hosts share this machine's clock, so a test's own times compare with the log's), and the gaps measured
// in that log.
import { expect } from 'vitest';

export type Ssh = (host: string, command: string, input?: string) => { code: number; stdout: string; stderr: string };
export type Probe = { t: number; end: number; answer: string };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const secs = (t: number) => ((Date.now() - t) / 1000).toFixed(1);

/** A web server on port 80 answering with the host's name, HTTP/1.1 keep-alive (a long-lived connection can send twice). */
export const WEB = (h: string) =>
  `mkdir -p /tmp/cf-fo-web && echo ${h} > /tmp/cf-fo-web/index.html && cd /tmp/cf-fo-web && (setsid python3 -c ` +
  `"import http.server as s, functools; H = functools.partial(s.SimpleHTTPRequestHandler, directory='/tmp/cf-fo-web'); H.func.protocol_version = 'HTTP/1.1'; s.ThreadingHTTPServer(('0.0.0.0', 80), H).serve_forever()" ` +
  `>/dev/null 2>&1 & echo $! > /tmp/cf-fo-web.pid)`;
export const STOP_WEB = 'kill $(cat /tmp/cf-fo-web.pid) 2>/dev/null; rm -f /tmp/cf-fo-web.pid; sleep 0.2; true';

/**
 * The client's probe: every 50 ms a new request to `vip`:80 (a thread of its own: a request that hangs does not hold
 * the next ones back; 2 s timeout) for argv[1] s; each line `sent answered answer|FAIL` into argv[2].
 */
export const probeScript = (vip: string) => `import socket, sys, threading, time
end = time.time() + float(sys.argv[1])
out = open(sys.argv[2], 'w', buffering=1)
lock = threading.Lock()
def one(t):
    r = 'FAIL'
    try:
        s = socket.create_connection(('${vip}', 80), timeout=2); s.settimeout(2)
        s.sendall(b'GET / HTTP/1.0\\r\\nConnection: close\\r\\n\\r\\n'); d = b''
        while True:
            c = s.recv(4096)
            if not c: break
            d += c
        s.close()
        if d.startswith(b'HTTP/1.') and b' 200 ' in d.split(b'\\r\\n')[0]: r = d.split(b'\\r\\n\\r\\n', 1)[1].decode().strip()
    except Exception:
        pass
    with lock: out.write('%.3f %.3f %s\\n' % (t, time.time(), r))
n = 0
start = time.time()
while time.time() < end:
    threading.Thread(target=one, args=(time.time(),)).start()
    n += 1
    w = start + n * 0.05 - time.time()
    if w > 0: time.sleep(w)
for th in threading.enumerate():
    if th is not threading.current_thread(): th.join()
`;

/** Starts the probe on `client` for `seconds`; returns a function that waits for it and reads its log. */
export function startProbe(ssh: Ssh, client: string, vip: string, seconds: number): () => Promise<Probe[]> {
  ssh(client, 'cat > /tmp/cf-probe.py', probeScript(vip));
  const r = ssh(client, `rm -f /tmp/cf-probe.log; (setsid python3 /tmp/cf-probe.py ${seconds} /tmp/cf-probe.log >/dev/null 2>&1 &) ; true`);
  expect(r.code, r.stderr).toBe(0);
  const started = Date.now();
  return async () => {
    while (Date.now() - started < seconds * 1000 + 3000) await sleep(500);
    return ssh(client, 'cat /tmp/cf-probe.log').stdout.trim().split('\n').filter(Boolean).map((l) => {
      const [t, end, answer] = l.split(' ');
      return { t: Number(t), end: Number(end), answer: answer ?? 'FAIL' };
    });
  };
}

/** The measures of one probe log, where a good answer is the name of one of `realServers`. */
export function probeMeasures(realServers: string[]) {
  const isGood = (x: Probe) => realServers.includes(x.answer);
  return {
    isGood,
    /** The largest time between two consecutive good answers (by the time they arrived) and when the closing one was sent. */
    gaps(log: Probe[]) {
      const good = log.filter(isGood).sort((a, b) => a.end - b.end);
      let max = 0;
      let gapEnd = good[0]?.t ?? Infinity;
      for (let i = 1; i < good.length; i++) if (good[i]!.end - good[i - 1]!.end > max) { max = good[i]!.end - good[i - 1]!.end; gapEnd = good[i]!.t; }
      return { max, gapEnd, total: log.length, failed: log.length - good.length };
    },
    /** Failed requests sent after `t` (epoch s). */
    failsAfter: (log: Probe[], t: number) => log.filter((x) => x.t > t && !isGood(x)).length,
    /** When the failed requests were sent, in seconds after `t0`. */
    failTimes: (log: Probe[], t0: number) => log.filter((x) => !isGood(x)).map((x) => (x.t - t0).toFixed(2)).join(' ') || 'none',
  };
}

/** Waits until `pred` holds (polled every `every` ms); the seconds since `t0`, or undefined after `limitMs`. */
export async function until(pred: () => boolean, t0: number, limitMs: number, every = 250): Promise<number | undefined> {
  while (Date.now() - t0 < limitMs) {
    if (pred()) return (Date.now() - t0) / 1000;
    await sleep(every);
  }
  return undefined;
}

/** min / median / max of a few runs, for the closing figures. */
export const stats = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return `${s[0]!.toFixed(2)} / ${s[Math.floor(s.length / 2)]!.toFixed(2)} / ${s.at(-1)!.toFixed(2)} s (${s.length} runs)`; };

/** The directors of `ssh`'s inventory holding `vip`, and each one's IPVS table and count of keepalived reloads. */
export function directorView(ssh: Ssh, directors: string[], vip: string) {
  const holdsVip = (h: string) => ssh(h, `ip -o addr show | grep -c ' ${vip}/' || true`).stdout.trim() === '1';
  return {
    holdsVip,
    holders: () => directors.filter(holdsVip),
    table: (h: string) => ssh(h, 'ipvsadm -S -n').stdout,
    /** systemd's "Reloaded keepalived.service" lines: one per `systemctl reload`. */
    reloads: (h: string) => Number(ssh(h, "journalctl -u keepalived --no-pager -o cat | grep -c '^Reloaded ' || true").stdout.trim()),
  };
}
