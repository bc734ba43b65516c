// The foundation pages in a real browser against a real engine: SSR content, hydration,
// the client-side filter, the detail page, 404, and a clean console everywhere.
import { test, expect, Page } from '@playwright/test';
import { FIXTURES } from '../fixtures/docker';
import { hydrated } from './metrics';

/** Collects console errors and uncaught exceptions for the whole test. */
function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

test('the list shows fixture containers by name, rendered on the server', async ({ page }) => {
  const problems = watchConsole(page);
  const response = await page.goto('/containers');
  expect(response?.status()).toBe(200);
  // Present in the server's HTML, before any Wasm ran.
  const html = await response!.text();
  for (const f of FIXTURES) expect(html).toContain(f.name);
  await hydrated(page);
  for (const f of FIXTURES) {
    await expect(page.locator(`tr[data-name="${f.name}"]`)).toBeVisible();
  }
  await expect(page.locator('tr[data-name="berth-e2e-web"]')).toContainText('berth-e2e');
  expect(problems).toEqual([]);
});

test('the filter box narrows the list once hydrated', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/containers');
  const filter = page.getByRole('searchbox', { name: 'Filter containers' });
  await hydrated(page);
  await expect(filter).toBeEnabled();
  const rows = page.locator('tr.container-row:visible');
  const before = await rows.count();
  expect(before).toBeGreaterThanOrEqual(FIXTURES.length);

  await filter.fill('berth-e2e');
  await expect(rows).toHaveCount(FIXTURES.length);
  // `-db`, not `db`: a word also matches an id by prefix, and a random id may start with db.
  await filter.fill('berth-e2e -db');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute('data-name', 'berth-e2e-db');
  await expect(page.getByTestId('shown-count')).toHaveText(`1 of ${before}`);
  await filter.fill('no-container-is-called-this');
  await expect(rows).toHaveCount(0);
  await filter.fill('');
  await expect(rows).toHaveCount(before);
  expect(problems).toEqual([]);
});

test('the detail page renders, also after client-side navigation', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/containers');
  await hydrated(page);
  await page.locator('tr[data-name="berth-e2e-web"] a').click();
  await expect(page).toHaveURL(/\/containers\/[0-9a-f]{64}$/);
  await expect(page.locator('h1')).toContainText('berth-e2e-web');
  await expect(page.getByTestId('command')).toHaveText('sleep 3600');
  await expect(page.getByTestId('env-names')).toContainText('E2E_TOKEN');
  await expect(page.getByTestId('env-names')).not.toContainText('never-shown');
  await expect(page.getByTestId('labels')).toContainText('com.docker.compose.service=web');

  // And directly, by name.
  const response = await page.goto('/containers/berth-e2e-db');
  expect(response?.status()).toBe(200);
  await hydrated(page);
  await expect(page.getByTestId('state')).toHaveText('running');
  expect(problems).toEqual([]);
});

test('the dashboard shows the engine and container counts', async ({ page }) => {
  const problems = watchConsole(page);
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await hydrated(page);
  await expect(page.getByTestId('engine-version')).not.toBeEmpty();
  await expect(page.getByTestId('host-name')).not.toBeEmpty();
  await expect(page.locator('.state-count.state-running .count')).toHaveText(/^[1-9]\d*$/);
  await expect(page.locator('.banner.engine-down')).toHaveCount(0);
  // Navigation between pages stays client-side and clean.
  await page.getByRole('navigation').getByRole('link', { name: 'Containers' }).click();
  await expect(page.locator('tr[data-name="berth-e2e-solo"]')).toBeVisible();
  expect(problems).toEqual([]);
});

test('an unknown container id is a 404 page', async ({ page }) => {
  const problems = watchConsole(page);
  const response = await page.goto('/containers/berth-e2e-does-not-exist');
  expect(response?.status()).toBe(404);
  await expect(page.locator('.error-panel h2')).toHaveText('Not found');
  await expect(page.locator('.error-panel')).toContainText('berth-e2e-does-not-exist');
  await hydrated(page);
  // The browser reports the document's own 404 status; nothing else may fail.
  expect(problems.filter((p) => !p.includes('status of 404'))).toEqual([]);
});
