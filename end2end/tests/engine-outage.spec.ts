// The engine going away and coming back, seen in a real browser without a reload. A second
// berth talks to the real engine through a unix-socket forwarder this test controls.
import { test, expect } from '@playwright/test';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { hydrated } from './metrics';
import { BERTH_BIN } from './engines';

const ENGINE_SOCKET = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
const ADDR = process.env.BERTH_OUTAGE_ADDR ?? '127.0.0.1:3312';

/** Forwards connections from `listen` to the engine; close() cuts every one of them. */
class Forwarder {
  private server: net.Server;
  private sockets = new Set<net.Socket>();
  constructor(private listen: string) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(ENGINE_SOCKET);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
  }
  async start(): Promise<void> {
    fs.rmSync(this.listen, { force: true });
    await new Promise<void>((resolve) => this.server.listen(this.listen, resolve));
  }
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    fs.rmSync(this.listen, { force: true });
  }
}

test.skip(!ENGINE_SOCKET.startsWith('/'), 'needs a unix-socket engine');

test('the banner appears while the engine is gone and clears when it returns', async ({ page }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-outage-'));
  const socket = path.join(dir, 'docker.sock');
  let berth: ChildProcess | undefined;
  let forwarder: Forwarder | undefined;
  try {
    berth = spawn(BERTH_BIN, ['--bind', ADDR, '--auth', 'off', '--docker-host', `unix://${socket}`], {
      cwd: path.resolve(__dirname, '../..'),
      stdio: 'ignore',
    });
    const base = `http://${ADDR}`;
    await expect.poll(async () => (await fetch(`${base}/api/health`).catch(() => null))?.status, { timeout: 10_000 }).toBe(503);

    // Down from the start: the banner names the endpoint, rendered on the server.
    const response = await page.goto(`${base}/containers`);
    expect(response?.status()).toBe(503);
    const banner = page.locator('.banner.engine-down');
    await expect(banner).toContainText(`unix://${socket}`);
    await hydrated(page);

    // The engine appears: the banner goes and the list loads, with no reload.
    forwarder = new Forwarder(socket);
    await forwarder.start();
    await expect(banner).toHaveCount(0, { timeout: 20_000 });
    await expect(page.locator('tr.container-row').first()).toBeVisible({ timeout: 10_000 });
    await expect(page.locator('.engine-badge.up')).toBeVisible();

    // It goes away again: the banner returns by itself.
    await forwarder.close();
    forwarder = undefined;
    await expect(banner).toBeVisible({ timeout: 20_000 });
    await expect(page.locator('.engine-badge.down')).toBeVisible();
  } finally {
    await forwarder?.close();
    berth?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
