// Compose projects: the list found by label, a project's members and states, and its merged
// live log with a colour per service.
import { test, expect } from '@playwright/test';
import { FIXTURES } from '../fixtures/docker';
import { clients, expectServerIdle, hydrated, trackSockets } from './metrics';

const PROJECT = 'berth-e2e';
const MEMBERS = FIXTURES.filter((f) => f.project === PROJECT);

test.beforeEach(async () => {
  await expectServerIdle();
});

test('the project list counts members, rendered on the server', async ({ page }) => {
  const response = await page.goto('/projects');
  expect(response?.status()).toBe(200);
  const html = await response!.text();
  expect(html).toContain(PROJECT);
  const row = page.locator(`tr.project-row[data-name="${PROJECT}"]`);
  await expect(row.getByTestId('project-containers')).toHaveText(String(MEMBERS.length));
  await expect(row).toContainText(`${MEMBERS.length} running`);
  for (const m of MEMBERS) await expect(row).toContainText(m.service!);
  // Containers without the label belong to no project.
  await expect(page.locator('tr.project-row[data-name="berth-e2e-solo"]')).toHaveCount(0);
  await hydrated(page);
  await row.getByRole('link', { name: PROJECT }).click();
  await expect(page).toHaveURL(new RegExp(`/projects/${PROJECT}$`));
  await expect(page.locator('tr.member-row')).toHaveCount(MEMBERS.length);
  await page.close();
  await expectServerIdle();
});

test('a project page merges its services into one coloured live log', async ({ page }) => {
  const sockets = trackSockets(page);
  await page.goto(`/projects/${PROJECT}`);
  for (const m of MEMBERS) {
    await expect(page.locator(`tr.member-row[data-name="${m.name}"]`)).toContainText('running');
  }
  await expect(page.getByTestId('log-status')).toHaveText('live');
  await expect.poll(() => clients('project_logs')).toBe(1);
  // Its log, and the engine's list that keeps the members' states.
  const paths = () => sockets.open().map((ws) => new URL(ws.url()).pathname).sort();
  await expect.poll(paths).toEqual(['/ws/containers', `/ws/projects/${PROJECT}/logs`]);
  // The worker's lines arrive tagged with their service, in that service's colour.
  const worker = page.locator('.log-line', { has: page.locator('.log-service', { hasText: 'worker' }) });
  await expect.poll(() => worker.count()).toBeGreaterThan(3);
  const logClass = await worker.first().locator('.log-service').getAttribute('class');
  const tableClass = await page.locator('tr.member-row[data-name="berth-e2e-worker"] .log-service').getAttribute('class');
  expect(logClass).toMatch(/svc-\d/);
  expect(logClass).toBe(tableClass);
  // Another service's lines, in another colour.
  const db = page.locator('.log-line', { has: page.locator('.log-service', { hasText: 'db' }) });
  await expect.poll(() => db.count()).toBeGreaterThan(1);
  expect(await db.first().locator('.log-service').getAttribute('class')).not.toBe(logClass);
  await page.close();
  await expectServerIdle();
});

test('an unknown project is a 404 page without a socket', async ({ page }) => {
  const sockets = trackSockets(page);
  const response = await page.goto('/projects/berth-e2e-no-such-project');
  expect(response?.status()).toBe(404);
  await expect(page.locator('.error-panel')).toContainText('no such compose project');
  await hydrated(page);
  expect(sockets.all.length).toBe(0);
});
