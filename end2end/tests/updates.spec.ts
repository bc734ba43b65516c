// Image updates (issue 29) against a private registry on 127.0.0.1
// (scripts/private-registry.sh): a container runs an image pulled from it; a new image is
// pushed under the same tag; "Check for updates" on the list puts a badge on its row, the
// "updates available" filter keeps that row alone, and its page says what the newer image is.
import { test, expect } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { hydrated } from './metrics';

const SCRIPT = path.resolve(__dirname, '../../scripts/private-registry.sh');
const REGISTRY_PORT = Number(process.env.BERTH_E2E_REGISTRY_PORT ?? 3318);
const REPOSITORY = `berth-e2e/updated-${process.pid}`;
const REFERENCE = `127.0.0.1:${REGISTRY_PORT}/${REPOSITORY}:1`;
const NAME = `berth-e2e-updated-${process.pid}`;
/** What the spec pushed, removed after it by digest (a moved tag no longer names it). */
const pushed: string[] = [];

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The test image with a label of its own (a digest of its own), pushed as REFERENCE. */
function pushVersion(version: number): string {
  const made = docker('create', '--label', 'berth.test=1', 'berth-test/busybox:latest', 'true');
  docker('commit', '--change', `LABEL berth.version=${version}`, made, REFERENCE);
  docker('rm', made);
  const said = docker('push', REFERENCE);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(said)?.[1];
  if (!digest) throw new Error(`no digest in: ${said}`);
  pushed.push(digest);
  return digest;
}

test.beforeAll(() => {
  execFileSync('bash', [SCRIPT, 'start', String(REGISTRY_PORT)], { stdio: 'ignore' });
});
test.afterAll(() => {
  spawnSync('docker', ['rm', '-f', NAME], { stdio: 'ignore' });
  for (const digest of pushed) {
    spawnSync('docker', ['rmi', '-f', `127.0.0.1:${REGISTRY_PORT}/${REPOSITORY}@${digest}`], { stdio: 'ignore' });
  }
  spawnSync('docker', ['rmi', '-f', REFERENCE], { stdio: 'ignore' });
  spawnSync('bash', [SCRIPT, 'stop'], { stdio: 'ignore' });
});

test('a newer image gets a badge, a filter and a line on its page', async ({ page }) => {
  pushVersion(1);
  docker('run', '-d', '--network', 'none', '--label', 'berth.test=1', '--name', NAME, REFERENCE, 'sleep', '600');
  // The new image is in the registry only: the local copy goes back to version 1's tag.
  const newer = pushVersion(2);
  docker('rmi', REFERENCE);

  await page.goto('/containers');
  await hydrated(page);
  const row = page.locator(`tr.container-row[data-name="${NAME}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId('update-badge')).toHaveCount(0);

  await page.getByTestId('check-updates').click();
  await expect(row.getByTestId('update-badge')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('updates-summary')).toContainText('checked');

  // The filter keeps the rows with an update: this one.
  await page.getByLabel('Updates available only').check();
  await expect(row).toBeVisible();
  await expect(page.getByTestId('shown-count')).toHaveText(/^1 of \d+$/);
  await page.getByLabel('Updates available only').uncheck();
  await expect(page.getByTestId('shown-count')).toHaveText(/^(\d+) of \1$/);

  await row.getByRole('link', { name: NAME }).click();
  const update = page.getByTestId('image-update');
  await expect(update).toContainText('update available');
  await expect(update).toContainText(`newer image ${newer.slice('sha256:'.length, 'sha256:'.length + 12)}`);
  await expect(update).toContainText('first seen');
});
