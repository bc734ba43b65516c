// Several engines in a real browser: a Berth of its own watching the test engine (`local`)
// and a private dockerd (`edge`, scripts/private-engine.sh). The dashboard shows both, the
// switcher and every link stay on the chosen engine, the all-engines list names each
// container's engine, and stopping `edge` puts a banner on its pages only.
import { test, expect, Page } from '@playwright/test';
import { ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { docker, LOCAL, privateEngine, SHOTS, startBerth } from './engines';
import { hydrated, metric } from './metrics';

const ADDR = process.env.BERTH_ENGINES_ADDR ?? '127.0.0.1:3313';
const BASE = `http://${ADDR}`;
const TICKER = 'berth-e2e-edge-ticker';

function banner(page: Page) {
  return page.locator('.banner.engine-down');
}

test.use({ viewport: { width: 1280, height: 860 } });

test('two engines side by side; an engine stopped shows on its own pages only', async ({ page }) => {
  test.setTimeout(120_000);
  const edge = privateEngine('start', 'e2e-edge');
  let berth: ChildProcess | undefined;
  try {
    spawnSync('docker', ['-H', edge, 'rm', '-f', TICKER], { stdio: 'ignore' });
    const id = docker(edge, 'run', '-d', '--network', 'none', '--label', 'berth.test=1', '--name', TICKER,
      'berth-test/busybox:latest', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo edge line $i; sleep 0.2; done');
    berth = await startBerth(ADDR, [['local', LOCAL], ['edge', edge]]);

    // Every engine at a glance, beside the live card of Berth's own machine.
    await page.goto(`${BASE}/`);
    await hydrated(page);
    for (const name of ['local', 'edge']) {
      const card = page.locator(`.engine-card[data-engine="${name}"]`);
      await expect(card.getByTestId('engine-state')).toHaveText('up');
      await expect(card.getByTestId('engine-version')).not.toBeEmpty();
      await expect(card.getByTestId('engine-capacity')).toContainText('CPUs');
    }
    await expect(page.locator('.host-live h2')).toContainText("Berth's machine");
    await expect(page.getByTestId('live-status')).toHaveText('live');
    await expect.poll(() => page.locator('.chart polyline.line-0').first().getAttribute('points').then((p) => (p ?? '').split(' ').length), { timeout: 60_000 }).toBeGreaterThan(process.env.BERTH_SCREENSHOT_DIR ? 20 : 3);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'engines-dashboard.png'), fullPage: true });

    // The switcher leads to an engine; the navigation then stays on it.
    await page.locator('.engine-switcher a[data-engine="edge"]').click();
    await expect(page).toHaveURL(`${BASE}/engines/edge`);
    await page.getByRole('navigation').getByRole('link', { name: 'Containers' }).click();
    await expect(page).toHaveURL(`${BASE}/engines/edge/containers`);
    await page.locator(`tr[data-name="${TICKER}"] a`).first().click();
    await expect(page).toHaveURL(`${BASE}/engines/edge/containers/${id}`);
    await page.getByTestId('tab-logs').click();
    await expect(page.locator('.log-line', { hasText: 'edge line' }).first()).toBeVisible();
    expect(await metric('berth_ws_clients', 'kind="container_logs",engine="edge"', BASE)).toBe(1);
    expect(await metric('berth_ws_clients', 'kind="container_logs",engine="local"', BASE)).toBe(0);

    // Every engine's containers in one list, filtered by engine.
    await page.goto(`${BASE}/all/containers`);
    await hydrated(page);
    await expect(page.locator(`tr[data-name="${TICKER}"][data-engine="edge"]`)).toBeVisible();
    await page.locator('select.engine-filter').selectOption('local');
    await expect(page.locator(`tr[data-name="${TICKER}"]`)).toBeHidden();
    await page.locator('select.engine-filter').selectOption('edge');
    await expect(page.locator(`tr[data-name="${TICKER}"]`)).toBeVisible();
    await expect.poll(() => metric('berth_ws_clients', 'engine="edge"', BASE)).toBe(0);

    // `edge` stops: its pages say so, the local ones do not, and the switcher shows it down.
    await page.goto(`${BASE}/engines/edge/containers`);
    await hydrated(page);
    privateEngine('stop', 'e2e-edge');
    await expect(banner(page)).toBeVisible({ timeout: 20_000 });
    await expect(page.locator('.engine-switcher a[data-engine="edge"].down')).toBeVisible();
    await page.goto(`${BASE}/containers`);
    await hydrated(page);
    await expect(page.locator('tr.container-row').first()).toBeVisible();
    await expect(banner(page)).toHaveCount(0);
    await page.goto(`${BASE}/`);
    await expect(page.locator('.engine-card[data-engine="edge"]').getByTestId('engine-state')).toHaveText('unreachable');
    await expect(page.locator('.engine-card[data-engine="local"]').getByTestId('engine-state')).toHaveText('up');
  } finally {
    berth?.kill('SIGTERM');
    // Its data stays under target/ (the ticker too, stopped); the next run replaces it.
    privateEngine('stop', 'e2e-edge');
  }
});
