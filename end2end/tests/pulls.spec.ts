// Pulling from the images page (issue 13) against a private registry on 127.0.0.1
// (scripts/private-registry.sh): the progress bar moves and the image appears in the list;
// Cancel on a slow pull (through a throttling proxy) stops it, and nothing is left: no
// image, no stream.
import { test, expect } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { hydrated, metric } from './metrics';

const SCRIPT = path.resolve(__dirname, '../../scripts/private-registry.sh');
const REGISTRY_PORT = Number(process.env.BERTH_E2E_REGISTRY_PORT ?? 3318);

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function exists(reference: string): boolean {
  return spawnSync('docker', ['image', 'inspect', reference], { stdio: 'ignore' }).status === 0;
}

/** An image of one layer of `megabytes` of noise, pushed to the registry, no local copy. */
function push(name: string, megabytes: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-pull-'));
  fs.writeFileSync(path.join(dir, 'noise'), crypto.randomBytes(megabytes * 1024 * 1024));
  const tar = `${dir}.tar`;
  execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
  const repository = `berth-e2e/${name}:1`;
  const here = `127.0.0.1:${REGISTRY_PORT}/${repository}`;
  docker('import', tar, here);
  docker('push', here);
  docker('rmi', here);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(tar, { force: true });
  return repository;
}

/** A loopback proxy to the registry that sends back at most `perSecond` bytes a second. */
function throttle(perSecond: number): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(REGISTRY_PORT, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      client.write(chunk);
      setTimeout(() => upstream.resume(), (chunk.length / perSecond) * 1000);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

test.beforeAll(() => {
  execFileSync('bash', [SCRIPT, 'start', String(REGISTRY_PORT)], { stdio: 'ignore' });
});
test.afterAll(() => {
  spawnSync('bash', [SCRIPT, 'stop'], { stdio: 'ignore' });
});

test('a pull shows its progress and the image appears in the list', async ({ page }) => {
  const reference = `127.0.0.1:${REGISTRY_PORT}/${push('pulled', 3)}`;
  await page.goto('/images');
  await hydrated(page);
  await page.getByLabel('Image to pull').fill(reference);
  await page.getByRole('button', { name: 'Pull', exact: true }).click();
  const pull = page.getByTestId('pull');
  await expect(pull.locator('progress')).toBeVisible();
  await expect(pull.getByTestId('pull-said')).toHaveText(`pulled ${reference}`, { timeout: 20_000 });
  await expect(pull.locator('tr.layer-row[data-phase="done"]')).toHaveCount(1);
  await expect(pull.locator('progress')).toHaveAttribute('value', '100');
  await expect(page.locator(`tr.image-row[data-name="${reference}"]`)).toBeVisible();
  await pull.getByRole('button', { name: 'Close' }).click();
  await expect(pull).toHaveCount(0);
  docker('rmi', reference);
});

test('Cancel stops a slow pull: no image, no stream', async ({ page }) => {
  const repository = push('slow', 8);
  const proxy = await throttle(512 * 1024);
  const reference = `127.0.0.1:${proxy.port}/${repository}`;
  try {
    await page.goto('/images');
    await hydrated(page);
    await page.getByLabel('Image to pull').fill(reference);
    await page.getByRole('button', { name: 'Pull', exact: true }).click();
    const pull = page.getByTestId('pull');
    await expect(pull.locator('tr.layer-row[data-phase="downloading"]')).toHaveCount(1, { timeout: 20_000 });
    await expect.poll(() => metric('berth_upstream_streams', 'kind="image_pull"')).toBe(1);
    await pull.getByRole('button', { name: 'Cancel' }).click();
    await expect(pull).toHaveCount(0);
    await expect.poll(() => metric('berth_upstream_streams', 'kind="image_pull"')).toBe(0);
    await expect.poll(() => metric('berth_hubs', 'kind="image_pull"')).toBe(0);
    // Longer than the rest would take unthrottled: the engine stopped, no image came.
    await page.waitForTimeout(3_000);
    expect(exists(reference)).toBe(false);
  } finally {
    proxy.close();
    spawnSync('docker', ['rmi', '-f', reference], { stdio: 'ignore' });
  }
});

test("a pull of an unknown image shows the registry's words", async ({ page }) => {
  const reference = `127.0.0.1:${REGISTRY_PORT}/berth-e2e/no-such-image:1`;
  await page.goto('/images');
  await hydrated(page);
  await page.getByLabel('Image to pull').fill(reference);
  await page.getByRole('button', { name: 'Pull', exact: true }).click();
  const said = page.getByTestId('pull').getByTestId('pull-said');
  await expect(said).toContainText(`pull of ${reference} failed`);
  await expect(said).toContainText(/not found|unknown/);
  await expect(page.getByTestId('pull').getByRole('button', { name: 'Close' })).toBeVisible();
});
