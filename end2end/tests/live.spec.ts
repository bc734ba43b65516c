// Sockets die with their page or component: F5 spam, navigation, tabs over the per-address
// limit. Server-side counts from /metrics, browser-side from page.on('websocket').
import { test, expect } from '@playwright/test';
import { clients, expectServerIdle, trackSockets } from './metrics';

test.beforeEach(async () => {
  await expectServerIdle();
});

test('refreshing the dashboard 20 times leaves one socket per stream on each side', async ({ page }) => {
  const sockets = trackSockets(page);
  // Playwright reports no close for sockets of a torn-down document, so the browser side
  // is counted for the final document: the sockets created since it committed.
  let mark = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) mark = sockets.all.length;
  });
  await page.goto('/');
  for (let i = 0; i < 20; i++) {
    // As fast as DevTools allows: reloading at 'commit' races Chromium's renderer swap
    // ("Not attached to an active page"). The server HTML is parsed by then, but the Wasm
    // is still loading or the socket still opening, so every reload interrupts a page
    // mid-connect.
    await page.reload({ waitUntil: 'domcontentloaded' });
  }
  await page.waitForLoadState('load');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  // The host's samples, and the engine card's container list (it opens once the engine
  // list has loaded, a moment after the host's): waited for on the browser's side, since a
  // reloaded document's socket may still count on the server's for a moment.
  const final = () => sockets.all.slice(mark);
  await expect
    .poll(() => final().map((ws) => new URL(ws.url()).pathname).sort())
    .toEqual(['/ws/engines/local/containers', '/ws/system/stats']);
  expect(final().every((ws) => !ws.isClosed())).toBe(true);
  await expect.poll(() => clients('system_stats')).toBe(1);
  await expect.poll(() => clients('container_list')).toBe(1);
  // Samples flow into the page.
  await expect(page.getByTestId('host-cpu')).toHaveText(/^\d+ %$/);
  await page.close();
  await expectServerIdle();
});

test('navigating away closes the socket; the counts follow the page', async ({ page }) => {
  const sockets = trackSockets(page);
  await page.goto('/');
  await expect(page.getByTestId('live-status')).toHaveText('live');
  expect(await clients('system_stats')).toBe(1);
  const paths = () => sockets.open().map((ws) => new URL(ws.url()).pathname).sort();
  await expect.poll(paths).toEqual(['/ws/engines/local/containers', '/ws/system/stats']);

  // The containers page keeps only its list's socket: the dashboard's are closed.
  await page.getByRole('navigation').getByRole('link', { name: 'Containers' }).click();
  await expect(page.locator('h1')).toHaveText('Containers');
  await expect.poll(paths).toEqual(['/ws/containers']);
  await expect.poll(() => clients('system_stats')).toBe(0);
  await expect.poll(() => clients('container_list')).toBe(1);

  await page.getByRole('navigation').getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByTestId('live-status')).toHaveText('live');
  await expect.poll(() => clients('system_stats')).toBe(1);
  await expect.poll(paths).toEqual(['/ws/engines/local/containers', '/ws/system/stats']);
  await page.close();
  await expectServerIdle();
});

test('a sixth dashboard tab is told about the limit and recovers by itself', async ({ context }) => {
  test.setTimeout(60_000);
  const pages = [];
  for (let i = 0; i < 5; i++) {
    const page = await context.newPage();
    await page.goto('/');
    await expect(page.getByTestId('live-status')).toHaveText('live');
    pages.push(page);
  }
  const sixth = await context.newPage();
  await sixth.goto('/');
  await expect(sixth.getByTestId('live-status')).toContainText('Connection limit reached');
  await expect(sixth.getByTestId('live-status')).toContainText('per address');
  expect(await clients('system_stats')).toBe(5);

  await pages.shift()!.close();
  await expect(sixth.getByTestId('live-status')).toHaveText('live', { timeout: 20_000 });
  expect(await clients('system_stats')).toBe(5);
  for (const page of [...pages, sixth]) await page.close();
  await expectServerIdle();
});
