// A user's walk through every live page: at each step the server's client counts equal the
// sockets the page holds, kind by kind; when the page closes, the server holds nothing.
import { test, expect, Page, WebSocket } from '@playwright/test';
import { clients, expectServerIdle, hydrated, KINDS, trackSockets } from './metrics';

test.beforeEach(async () => {
  await expectServerIdle();
});

function kindOf(ws: WebSocket): string {
  const path = new URL(ws.url()).pathname;
  if (path === '/ws/system/stats') return 'system_stats';
  if (path.endsWith('/containers')) return 'container_list';
  if (path.startsWith('/ws/projects/')) return 'project_logs';
  if (path.endsWith('/stats')) return 'container_stats';
  return 'container_logs';
}

/** Waits until, for every kind, browser sockets == server clients == `expected[kind]` (0 if absent). */
async function expectCounts(open: () => WebSocket[], expected: Record<string, number>): Promise<void> {
  for (const kind of KINDS) {
    const want = expected[kind] ?? 0;
    await expect.poll(() => open().filter((ws) => kindOf(ws) === kind).length, { message: `browser ${kind}` }).toBe(want);
    await expect.poll(() => clients(kind), { message: `server ${kind}` }).toBe(want);
  }
}

async function nav(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
}

test('dashboard, logs, stats, projects and back: counts agree at every step', async ({ page }) => {
  const sockets = trackSockets(page);
  await page.goto('/');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  // The host's samples, and the engine card's list.
  await expectCounts(sockets.open, { system_stats: 1, container_list: 1 });

  await nav(page, 'Containers');
  await expectCounts(sockets.open, { container_list: 1 });
  await page.locator('tr[data-name="berth-e2e-ticker"] a').click();
  await page.getByTestId('tab-logs').click();
  await expect(page.getByTestId('log-status')).toHaveText('live');
  await expectCounts(sockets.open, { container_logs: 1 });

  await page.getByTestId('tab-stats').click();
  await expect(page.getByTestId('stats-status')).toHaveText('live');
  await expectCounts(sockets.open, { container_stats: 1 });

  await nav(page, 'Projects');
  await expect(page.locator('h1')).toHaveText('Projects');
  await expectCounts(sockets.open, { container_list: 1 });
  await page.locator('tr.project-row[data-name="berth-e2e"] a').click();
  await expect(page.getByTestId('log-status')).toHaveText('live');
  await expectCounts(sockets.open, { project_logs: 1, container_list: 1 });

  // Back through history to the stats tab, then home.
  await page.goBack();
  await page.goBack();
  await expect(page.getByTestId('stats-status')).toHaveText('live');
  await expectCounts(sockets.open, { container_stats: 1 });
  await nav(page, 'Dashboard');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  await expectCounts(sockets.open, { system_stats: 1, container_list: 1 });

  await page.close();
  await expectServerIdle(3_000);
});

test('leaving a page while its fetch is in flight aborts the fetch', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  // Hold the container list's API call in the network layer: it reaches no server until
  // released, so it is still in flight when the user leaves.
  let held: (() => Promise<void>) | undefined;
  await page.route('**/api/containers', (route) => {
    held = () => route.continue().catch(() => {});
  });
  const request = page.waitForRequest((r) => r.url().endsWith('/api/containers'));
  await nav(page, 'Containers');
  const inFlight = await request;
  const failed = page.waitForEvent('requestfailed', (r) => r === inFlight);
  await nav(page, 'Projects');
  const aborted = await failed;
  expect(aborted.failure()?.errorText).toMatch(/ERR_ABORTED|cancel/i);
  await expect(page.locator('h1')).toHaveText('Projects');
  await held?.();
  await page.unroute('**/api/containers');
});

test('opening and closing a container page 30 times does not grow the JS heap', async ({ page }) => {
  test.setTimeout(120_000);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const heap = async (): Promise<number> => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'JSHeapUsedSize')!.value;
  };
  const cycle = async (): Promise<void> => {
    await page.locator('tr[data-name="berth-e2e-ticker"] a').click();
    await page.getByTestId('tab-logs').click();
    await expect(page.locator('.log-line').first()).toBeVisible();
    await nav(page, 'Containers');
    await expect(page.locator('tr[data-name="berth-e2e-ticker"]')).toBeVisible();
  };
  await page.goto('/containers');
  await hydrated(page);
  // One warm cycle first: code and caches that load once are not growth.
  await cycle();
  const before = await heap();
  for (let i = 0; i < 30; i++) await cycle();
  // Every log socket closed; the list's own stays open on the list page.
  await expect.poll(() => clients('container_logs')).toBe(0);
  await expect.poll(() => clients('container_list')).toBe(1);
  const after = await heap();
  const mb = (n: number) => (n / 1024 / 1024).toFixed(2);
  console.log(`JS heap after forced GC: before ${mb(before)} MB, after 30 cycles ${mb(after)} MB, growth ${mb(after - before)} MB`);
  expect(after - before).toBeLessThan(5 * 1024 * 1024);
  await page.close();
  await expectServerIdle();
});
