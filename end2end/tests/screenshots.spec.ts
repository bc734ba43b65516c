// Screenshots of the main views (and the charts and the search box), taken live once each shows real data. They land in
// target/screenshots, or in $BERTH_SCREENSHOT_DIR (`BERTH_SCREENSHOT_DIR=$PWD/docs make test`
// refreshes the ones the README shows).
import { test, expect, Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expectServerIdle } from './metrics';

const DIR = process.env.BERTH_SCREENSHOT_DIR ?? resolve(__dirname, '../../target/screenshots');

test.use({ viewport: { width: 1280, height: 860 } });

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  await page.screenshot({ path: join(DIR, `${name}.png`) });
}

test('dashboard, container logs and project page, with live data', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  // Enough samples for the charts to say something (half the history for the docs).
  const points = process.env.BERTH_SCREENSHOT_DIR ? 30 : 5;
  test.setTimeout(90_000);
  await expect.poll(() => page.locator('.chart polyline.line-0').first().getAttribute('points').then((p) => (p ?? '').split(' ').length), { timeout: 60_000 }).toBeGreaterThan(points);
  await shoot(page, 'dashboard');

  await page.goto('/containers/berth-e2e-ticker?tab=logs');
  await expect(page.getByTestId('log-status')).toHaveText('live');
  await expect.poll(() => page.locator('.log-line.stderr').count()).toBeGreaterThan(1);
  await shoot(page, 'container-logs');

  await page.goto('/projects/berth-e2e');
  await expect(page.getByTestId('log-status')).toHaveText('live');
  await expect.poll(() => page.locator('.log-line').count()).toBeGreaterThan(8);
  await shoot(page, 'project');

  // A container's charts, the pointer reading one, and the search box over them.
  await page.goto('/containers/berth-e2e-ticker?tab=stats');
  await expect(page.getByTestId('stats-status')).toHaveText('live');
  await expect.poll(() => page.getByTestId('chart-cpu').locator('polyline').getAttribute('points').then((p) => (p ?? '').split(' ').length), { timeout: 60_000 }).toBeGreaterThan(points / 2);
  const cpu = (await page.getByTestId('chart-cpu').locator('.chart-area').boundingBox())!;
  await page.mouse.move(cpu.x + 2, cpu.y + cpu.height / 2);
  await expect(page.getByTestId('chart-cpu').getByTestId('chart-readout')).toHaveText(/ago: /);
  await shoot(page, 'container-stats');
  await page.keyboard.press('Control+k');
  await page.getByRole('combobox', { name: 'Search everything' }).fill('e2e');
  await expect(page.getByRole('option').first()).toBeVisible();
  await shoot(page, 'search');
  await page.close();
  await expectServerIdle();
});
