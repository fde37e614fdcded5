// A TCP listener on 127.0.0.1 that counts connections, to prove that a run contacted no host (or did).
import { createServer, type Server } from 'node:net';

export class ContactCounter {
  port = 0;
  connections = 0;
  private server: Server | undefined;

  async start(): Promise<void> {
    this.server = createServer((s) => { this.connections++; s.destroy(); });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
  }

  close(): void {
    this.server?.close();
  }

  /** Connections since `before`; the CLI runs synchronously (spawnSync), so its connections are accepted after it. */
  async contacted(before: number): Promise<number> {
    await new Promise((r) => setTimeout(r, 100));
    return this.connections - before;
  }
}
