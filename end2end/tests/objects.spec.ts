// Images, volumes, networks and disk usage (issue 13) in a real browser: each list shows the
// engine's own, a removal happens only after confirming (Cancel keeps it), a volume made from
// the form appears, Docker's own networks offer no Remove, and the disk page has its rows.
import { test, expect, Page } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hydrated } from './metrics';

const SPARE_IMAGE = 'berth-e2e-spare:1';
const VOLUME = 'berth-e2e-volume';
const NETWORK = 'berth-e2e-network';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function exists(kind: 'image' | 'volume' | 'network', name: string): boolean {
  return spawnSync('docker', [kind, 'inspect', name], { stdio: 'ignore' }).status === 0;
}

/** A small image of its own (one file), tagged: removable without touching the test image. */
function spareImage(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-image-'));
  fs.writeFileSync(path.join(dir, 'f'), `${Date.now()}`);
  const tar = `${dir}.tar`;
  execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
  docker('import', tar, SPARE_IMAGE);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(tar, { force: true });
}

async function open(page: Page, where: string): Promise<void> {
  await page.goto(where);
  await hydrated(page);
}

test.afterAll(() => {
  spawnSync('docker', ['rmi', '-f', SPARE_IMAGE], { stdio: 'ignore' });
  spawnSync('docker', ['volume', 'rm', '-f', VOLUME], { stdio: 'ignore' });
  spawnSync('docker', ['network', 'rm', NETWORK], { stdio: 'ignore' });
});

test('an image is removed from its row only after confirming', async ({ page }) => {
  spawnSync('docker', ['rmi', '-f', SPARE_IMAGE], { stdio: 'ignore' });
  spareImage();
  await open(page, '/images');
  await expect(page.locator('tr.image-row[data-name="berth-test/busybox:latest"]')).toBeVisible();
  const row = page.locator(`tr.image-row[data-name="${SPARE_IMAGE}"]`);
  await expect(row.getByTestId('image-containers')).toHaveText('0');
  await row.getByRole('button', { name: 'Remove' }).click();
  await expect(row.getByRole('alertdialog')).toContainText(`Remove image ${SPARE_IMAGE}?`);
  await row.getByRole('button', { name: 'Cancel' }).click();
  expect(exists('image', SPARE_IMAGE)).toBe(true);
  await row.getByRole('button', { name: 'Remove' }).click();
  await row.getByRole('alertdialog').getByRole('button', { name: 'Remove' }).click();
  await expect(row).toHaveCount(0);
  expect(exists('image', SPARE_IMAGE)).toBe(false);

  // The test image is used by the fixtures: Docker's refusal shows where it was clicked.
  const used = page.locator('tr.image-row[data-name="berth-test/busybox:latest"]');
  await used.getByRole('button', { name: 'Remove' }).click();
  await used.getByRole('alertdialog').getByRole('button', { name: 'Remove' }).click();
  await expect(used.getByRole('alert')).toContainText('conflict');
  expect(exists('image', 'berth-test/busybox:latest')).toBe(true);

  // Its page: layers and the containers using it.
  await used.getByRole('link').first().click();
  await expect(page.locator('h1')).toContainText('berth-test/busybox:latest');
  await expect(page.locator('table.layers tbody tr').first()).toBeVisible();
  await expect(page.getByTestId('image-used-by')).toContainText('berth-e2e-ticker');
});

test('a volume made from the form is listed, then removed after confirming', async ({ page }) => {
  spawnSync('docker', ['volume', 'rm', '-f', VOLUME], { stdio: 'ignore' });
  await open(page, '/volumes');
  await page.getByLabel('Volume name').fill(VOLUME);
  await page.getByRole('button', { name: 'Create volume' }).click();
  await expect(page.getByRole('status')).toHaveText(`created ${VOLUME}`);
  const row = page.locator(`tr.volume-row[data-name="${VOLUME}"]`);
  await expect(row).toContainText('local');
  expect(exists('volume', VOLUME)).toBe(true);
  await row.getByRole('button', { name: 'Remove' }).click();
  await row.getByRole('alertdialog').getByRole('button', { name: 'Remove' }).click();
  await expect(row).toHaveCount(0);
  expect(exists('volume', VOLUME)).toBe(false);
});

test("a network is removed after confirming; Docker's own offer no Remove", async ({ page }) => {
  spawnSync('docker', ['network', 'rm', NETWORK], { stdio: 'ignore' });
  docker('network', 'create', '--subnet', '198.18.9.0/24', NETWORK);
  await open(page, '/networks');
  const none = page.locator('tr.network-row[data-name="none"]');
  await expect(none).toContainText('built-in');
  await expect(none.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  const row = page.locator(`tr.network-row[data-name="${NETWORK}"]`);
  await expect(row).toContainText('198.18.9.0/24');
  await row.getByRole('button', { name: 'Remove' }).click();
  await row.getByRole('alertdialog').getByRole('button', { name: 'Remove' }).click();
  await expect(row).toHaveCount(0);
  expect(exists('network', NETWORK)).toBe(false);
});

test('the disk page lists each kind with its size and what a prune gives back', async ({ page }) => {
  await open(page, '/disk');
  for (const kind of ['Images', 'Containers', 'Volumes', 'Build cache']) {
    await expect(page.locator(`tr.disk-row[data-kind="${kind}"] [data-testid="disk-size"]`)).toHaveText(/\d/);
  }
  await expect(page.getByTestId('prune-images')).toBeVisible();
  await expect(page.getByTestId('prune-volumes')).toBeVisible();
});
