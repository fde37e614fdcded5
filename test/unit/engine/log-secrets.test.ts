// -vv prints every script a host runs: never a file's content, a key or a password inside it.
import { describe, expect, it } from 'vitest';
import { HostSession } from '../../../src/engine/host.js';
import { applyScript, scriptForLog } from '../../../src/engine/script.js';
import type { Transport } from '../../../src/transport/types.js';

const SECRET = 'auth_pass Zq8!pass';
const CONTENT = `vrrp_instance VI_1 {\n  authentication {\n    auth_type PASS\n    ${SECRET}\n  }\n}\n`;
const b64 = Buffer.from(CONTENT).toString('base64');
const KEY = Buffer.alloc(256, 7).toString('base64');

describe('scripts in the -vv log', () => {
  it('a write action: the path and the steps are shown, the content (base64) is not', () => {
    const script = applyScript([{ kind: 'write', path: '/etc/keepalived/keepalived.conf', content: CONTENT, mode: '0600' }]);
    expect(script).toContain(b64.slice(0, 40)); // what the host gets
    const shown = scriptForLog(script);
    expect(shown).not.toContain(b64.slice(0, 16));
    expect(shown).not.toContain('Zq8');
    expect(shown).toContain('/etc/keepalived/keepalived.conf');
    expect(shown).toMatch(/<\d+ base64 characters not shown>/);
  });

  it('a key in a shell step (printf of a quoted base64 literal) is not shown; short words and commands are', () => {
    const script = `printf '%s' '${KEY}' | base64 -d > /etc/corosync/authkey; systemctl reload 'keepalived'`;
    const shown = scriptForLog(script);
    expect(shown).not.toContain(KEY.slice(0, 16));
    expect(shown).toContain("systemctl reload 'keepalived'");
  });

  it('HostSession.run logs the shown form while the host gets the script as it is', async () => {
    const sent: string[] = [];
    const transport = { exec: async (command: string) => { sent.push(command); return { code: 0, stdout: '', stderr: '' }; } } as unknown as Transport;
    const log: string[] = [];
    const s = new HostSession({ name: 'n1', address: '10.0.0.1', vars: {}, ssh: {} } as never, transport, { log: (l) => log.push(l), heldShell: false });
    await s.run(applyScript([{ kind: 'write', path: '/etc/x.conf', content: CONTENT }]));
    expect(sent.join('\n')).toContain(b64.slice(0, 40));
    expect(log.join('\n')).not.toContain(b64.slice(0, 16));
    expect(log.join('\n')).toContain('/etc/x.conf');
  });
});
