// The container page's tabs and the log viewer, against real containers: only the shown
// tab's socket is open, lines arrive in order with stderr and ANSI styling, restarts never
// stack sockets, and the DOM stays bounded whatever the container prints.
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { docker, IMAGE } from '../fixtures/docker';
import { clients, expectServerIdle, hydrated, trackSockets } from './metrics';

test.beforeEach(async () => {
  await expectServerIdle();
});

test('only the shown tab holds a socket', async ({ page }) => {
  const sockets = trackSockets(page);
  await page.goto('/containers/berth-e2e-ticker');
  await hydrated(page);
  expect(sockets.all.length).toBe(0);

  await page.getByTestId('tab-logs').click();
  await expect(page.getByTestId('log-status')).toHaveText('live');
  await expect.poll(() => clients('container_logs')).toBe(1);
  expect(sockets.open().length).toBe(1);

  await page.getByTestId('tab-stats').click();
  await expect(page.getByTestId('stats-status')).toHaveText('live');
  await expect(page.getByTestId('stats-pids')).toHaveText(/^[1-9]\d*$/);
  await expect.poll(() => clients('container_logs')).toBe(0);
  expect(await clients('container_stats')).toBe(1);
  await expect.poll(() => sockets.open().length).toBe(1);

  await page.getByTestId('tab-overview').click();
  await expect(page.getByTestId('command')).toBeVisible();
  await expect.poll(() => sockets.open().length).toBe(0);
  await expect.poll(() => clients('container_stats')).toBe(0);
  await page.close();
  await expectServerIdle();
});

test('log lines arrive in order, stderr marked and colours rendered', async ({ page }) => {
  await page.goto('/containers/berth-e2e-ticker?tab=logs');
  await expect(page.getByTestId('log-status')).toHaveText('live');
  const lines = page.locator('.log-line');
  await expect.poll(() => lines.count()).toBeGreaterThan(25);
  const texts = await page.locator('.log-line .log-text').allTextContents();
  const numbers = texts.map((t) => Number(t.replace('tick ', '')));
  for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe(numbers[i - 1] + 1);
  // Every tenth line is stderr, red, and shows no raw escape code.
  const stderr = page.locator('.log-line.stderr').first();
  await expect(stderr.locator('.ansi-fg-1')).toHaveText(/^tick \d+0$/);
  expect(texts.join('\n')).not.toContain('\u001b');
  expect(texts.join('\n')).not.toContain('[31m');
  await page.close();
  await expectServerIdle();
});

test('ten restarts leave one socket and one server client', async ({ page }) => {
  const sockets = trackSockets(page);
  await page.goto('/containers/berth-e2e-ticker?tab=logs');
  await expect(page.getByTestId('log-status')).toHaveText('live');
  for (let i = 0; i < 10; i++) {
    await page.getByTestId('log-restart').click();
  }
  await expect(page.getByTestId('log-status')).toHaveText('live');
  await expect.poll(() => clients('container_logs')).toBe(1);
  await expect.poll(() => sockets.open().length).toBe(1);
  expect(sockets.all.length).toBe(11);
  await expect.poll(() => page.locator('.log-line').count()).toBeGreaterThan(0);
  await page.close();
  await expectServerIdle();
});

test('20,000 lines leave at most the cap in the DOM', async ({ page }) => {
  test.setTimeout(90_000);
  const name = 'berth-e2e-flood';
  try {
    docker('rm', '-f', name);
  } catch {
    // not there
  }
  // Waits for a go signal, so every line is streamed live rather than read as a tail.
  docker('run', '-d', '--network', 'none', '--label', 'berth.test=1', '--name', name, IMAGE, 'sh', '-c', 'until cat /go 2>/dev/null; do sleep 0.1; done; seq 1 20000; sleep 3600');
  try {
    await page.goto(`/containers/${name}?tab=logs`);
    await expect(page.getByTestId('log-status')).toHaveText('live');
    docker('exec', name, 'sh', '-c', 'echo > /go');
    // The last line arrives (or the viewer is told lines were skipped) and the cap holds.
    await expect(page.locator('.log-line .log-text', { hasText: /^20000$/ })).toHaveCount(1, { timeout: 60_000 });
    const count = await page.locator('.log-line').count();
    expect(count).toBeLessThanOrEqual(5000);
    expect(count).toBeGreaterThan(0);
    // How many of the 20,000 a browser keeps up with depends on the machine; when it falls
    // behind, the server drops the oldest and the viewer must say so rather than stay silent.
    if (count < 5000) {
      await expect(page.locator('.log-note.lagged').first()).toContainText('lines skipped');
    }
    await expect(page.getByTestId('log-count')).toHaveText(/^\d+ lines held \(max 5000\)(, \d+ skipped)?$/);
  } finally {
    docker('rm', '-f', name);
  }
  await page.close();
  await expectServerIdle();
});

/** The viewer's own counts: lines received, lines the server said it missed, lines
 * dropped in the page before they were drawn. */
async function counts(page: import('@playwright/test').Page) {
  const count = page.getByTestId('log-count');
  const read = async (name: string) => Number(await count.getAttribute(`data-${name}`));
  return { received: await read('received'), lagged: await read('lagged'), dropped: await read('dropped') };
}

// Issue 14: about 20,000 lines a second for 10 s (200,000 numbered lines). The page keeps
// at most its cap, accounts for every line (received, or told as missed), shows the last
// one, and answers clicks meanwhile. How long its tasks take is the benchmark's figure,
// not asserted here.
test('20,000 lines a second for 10 s: the cap holds, every line is accounted for, clicks answer', async ({ page }) => {
  // A page that fell behind works through what it was sent: on a loaded 2-core machine
  // (CI, after the other specs) that took over a minute once.
  test.setTimeout(200_000);
  const name = 'berth-e2e-torrent';
  const total = 200_000;
  try {
    docker('rm', '-f', name);
  } catch {
    // not there
  }
  const script = `until [ -e /go ]; do sleep 0.1; done; i=0; while [ $i -lt ${total} ]; do seq $i $((i+199)); i=$((i+200)); usleep 10000; done; sleep 3600`;
  docker('run', '-d', '--network', 'none', '--label', 'berth.test=1', '--name', name, IMAGE, 'sh', '-c', script);
  try {
    await page.goto(`/containers/${name}?tab=logs`);
    await expect(page.getByTestId('log-status')).toHaveText('live');
    await hydrated(page);
    docker('exec', name, 'sh', '-c', 'echo > /go');
    await expect.poll(async () => (await counts(page)).received, { timeout: 30_000 }).toBeGreaterThan(20_000);
    // Mid-stream, the page answers: Pause, then Resume.
    const pause = page.getByTestId('log-pause');
    await pause.click();
    await expect(pause).toHaveText('Resume');
    // Lines arrive, or are told as missed when a slow machine falls behind: both count.
    const seen = (c: { received: number; lagged: number }) => c.received + c.lagged;
    const paused = seen(await counts(page));
    expect(paused).toBeLessThan(total);
    // Lines keep pouring in and leave the top of the full list: the pause holds.
    await expect
      .poll(async () => seen(await counts(page)), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(Math.min(paused + 20_000, total));
    await expect(pause).toHaveText('Resume');
    await pause.click();
    await expect(pause).toHaveText('Pause');
    expect(await page.locator('.log-line').count()).toBeLessThanOrEqual(5000);
    // Every line arrived or was told as missed; the newest is shown, within the cap.
    try {
      await expect.poll(async () => {
        const c = await counts(page);
        return c.received + c.lagged;
      }, { timeout: 120_000 }).toBe(total);
    } catch (e) {
      // What the page had, for the next person to read in CI's log.
      console.log(`torrent, not all accounted for: ${JSON.stringify(await counts(page))}`);
      throw e;
    }
    await expect(page.locator('.log-line .log-text', { hasText: new RegExp(`^${total - 1}$`) })).toHaveCount(1);
    const rows = await page.locator('.log-line').count();
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThanOrEqual(5000);
    // Lines not drawn are said, in the count (their notes may have left the held rows).
    const c = await counts(page);
    console.log(`torrent: ${JSON.stringify(c)}`);
    if (c.lagged + c.dropped > 0) {
      await expect(page.getByTestId('log-count')).toContainText(`, ${c.lagged + c.dropped} skipped`);
    }
  } finally {
    docker('rm', '-f', name);
  }
  await page.close();
  await expectServerIdle();
});

test('scrolling up pauses and counts new lines; End follows again', async ({ page }) => {
  await page.goto('/containers/berth-e2e-ticker?tab=logs');
  await expect(page.getByTestId('log-status')).toHaveText('live');
  await hydrated(page);
  const list = page.getByTestId('log-lines');
  await expect.poll(() => page.locator('.log-line').count()).toBeGreaterThan(40);
  await list.hover();
  await page.mouse.wheel(0, -3000);
  await expect(page.getByTestId('log-pause')).toHaveText('Resume');
  await expect(page.getByTestId('log-new')).toContainText('new lines');
  await page.keyboard.press('End');
  await expect(page.getByTestId('log-pause')).toHaveText('Pause');
  await expect(page.getByTestId('log-new')).toHaveCount(0);
  await page.close();
  await expectServerIdle();
});

test('the filter narrows lines by text or regex, highlights matches, and reports a bad regex', async ({ page }) => {
  await page.goto('/containers/berth-e2e-ticker?tab=logs');
  await expect(page.getByTestId('log-status')).toHaveText('live');
  const lines = page.locator('.log-line');
  await expect.poll(() => lines.count()).toBeGreaterThan(20);
  const filter = page.getByTestId('log-filter');
  await expect(filter).toBeEnabled();

  // Plain text, case-insensitive: every shown line contains it, highlighted. The text is
  // taken from a line held now ("tick 2" when the ticker is in its 2000s): a fixed one
  // ("tick 1") matches nothing once the ticker has run long enough in a suite.
  const held = (await page.locator('.log-line .log-text').last().textContent()) ?? '';
  const word = held.slice(0, 'tick '.length + 1);
  expect(word).toMatch(/^tick \d$/);
  await filter.fill(word.toUpperCase());
  await expect(page.getByTestId('log-count')).toContainText('lines match');
  await expect.poll(async () => {
    const texts = await page.locator('.log-line .log-text').allTextContents();
    return texts.length > 0 && texts.every((t) => t.includes(word));
  }).toBe(true);
  await expect(page.locator('.log-line mark').first()).toHaveText(word);

  // A regex: only lines ending in 5.
  await filter.fill('/^tick \\d*5$/');
  await expect.poll(async () => {
    const texts = await page.locator('.log-line .log-text').allTextContents();
    return texts.length > 0 && texts.every((t) => /^tick \d*5$/.test(t));
  }).toBe(true);
  const marked = await page.locator('.log-line mark').allTextContents();
  expect(marked.length).toBeGreaterThan(0);
  for (const m of marked) expect(m).toMatch(/^tick \d*5$/);

  // An invalid regex says so and hides nothing.
  await filter.fill('/tick (/');
  await expect(page.getByTestId('log-filter-error')).toContainText('invalid regular expression');
  await expect.poll(async () => (await page.locator('.log-line .log-text').allTextContents()).some((t) => !t.endsWith('5'))).toBe(true);

  await filter.fill('');
  await expect(page.getByTestId('log-filter-error')).toBeEmpty();
  await expect(page.getByTestId('log-count')).toContainText('lines held');
  await expect(page.locator('.log-line mark')).toHaveCount(0);
  await page.close();
  await expectServerIdle();
});

test('download saves the held lines as a .log file', async ({ page }) => {
  await page.goto('/containers/berth-e2e-ticker?tab=logs');
  await expect(page.getByTestId('log-status')).toHaveText('live');
  await expect.poll(() => page.locator('.log-line').count()).toBeGreaterThan(10);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('log-download').click(),
  ]);
  expect(download.suggestedFilename()).toBe('berth-e2e-ticker.log');
  const path = await download.path();
  const text = readFileSync(path, 'utf8');
  const lines = text.trim().split('\n');
  expect(lines.length).toBeGreaterThan(10);
  // Timestamped as Docker gives them, colours removed.
  for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+ tick \d+$/);
  expect(text).not.toContain('\u001b');
  await page.close();
  await expectServerIdle();
});
