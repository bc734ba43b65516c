// Issue 16: the theme toggle (system, light, dark), remembered in a cookie and rendered by
// the server so the first paint has it; the keyboard: `/` focuses the page's filter, `g c`,
// `g p` and `g d` go to containers, projects and the dashboard; in the log viewer space
// pauses, End follows and Escape clears the filter; at 375 px wide no page scrolls sideways;
// every page meets WCAG AA contrast in both themes; every list sorts by its columns, the
// choice kept in the URL; charts have a scale in their unit and read the value under the
// pointer; Ctrl-K finds things fuzzily and opens them; empty lists say what to do.
import { test, expect, Page } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import { BASE, hydrated } from './metrics';
import { lowContrast } from './contrast';
import { IMAGE } from '../fixtures/docker';

const SORT_VOLUMES = ['berth-e2e-sort-b', 'berth-e2e-sort-c', 'berth-e2e-sort-a'];
const SORT_NETWORK = 'berth-e2e-sort-net';
const SORT_PROJECT = 'berth-e2e-sorted';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function removeSortFixtures(): void {
  spawnSync('docker', ['rm', '-f', `${SORT_PROJECT}-one`, `${SORT_PROJECT}-two`], { stdio: 'ignore' });
  spawnSync('docker', ['volume', 'rm', '-f', ...SORT_VOLUMES], { stdio: 'ignore' });
  spawnSync('docker', ['network', 'rm', SORT_NETWORK], { stdio: 'ignore' });
}

test.afterAll(removeSortFixtures);

/** A stack of Berth's own, so its page (with the code editor) is among every page. */
const UI_STACK = 'e2e-ui-stack';
const UI_STACK_PAGE = `/stacks/${UI_STACK}`;

test.beforeAll(async ({ request }) => {
  await request.delete(`${BASE}/api/stacks/${UI_STACK}`);
  const compose = `services:\n  app:\n    image: ${IMAGE}\n    network_mode: none\n`;
  const made = await request.put(`${BASE}/api/stacks/${UI_STACK}`, { data: { compose, env: 'A=1\n' } });
  expect(made.status()).toBe(200);
});

test.afterAll(async ({ request }) => {
  await request.delete(`${BASE}/api/stacks/${UI_STACK}`);
});

/** Opens `path` hydrated, with its code editors loaded where it has them. */
async function open(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await hydrated(page);
  if (path === UI_STACK_PAGE) await expect(page.locator('.cm-editor')).toHaveCount(2);
}

/** Every kind of page, on the fixtures (scripts/test.sh's); an image's page by its id (read
 * when a test asks: the fixtures exist only once the global setup has run). */
const PAGES = () => ['/', '/containers', '/projects', '/projects/berth-e2e', '/images', '/volumes', '/networks',
  '/disk', '/swarm', '/all/containers', '/stacks', '/all/stacks', '/alerts', UI_STACK_PAGE, '/stacks/berth-e2e', '/containers/berth-e2e-solo', '/containers/berth-e2e-ticker?tab=logs',
  '/containers/berth-e2e-ticker?tab=stats', '/containers/berth-e2e-solo?tab=terminal', '/engines/local',
  `/images/${execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', IMAGE], { encoding: 'utf8' }).trim()}`];

const LIGHT_BG = 'rgb(246, 247, 249)';
const DARK_BG = 'rgb(15, 19, 26)';

async function background(page: Page): Promise<string> {
  return page.evaluate(() => getComputedStyle(document.body).backgroundColor);
}

test('the theme is chosen, remembered, and rendered by the server', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/');
  await hydrated(page);
  const html = page.locator('html');
  const toggle = page.getByTestId('theme-toggle');
  await expect(toggle).toHaveAttribute('aria-label', 'Theme: system');
  expect(await background(page)).toBe(LIGHT_BG);

  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  expect(await background(page)).toBe(DARK_BG);

  // The server renders the choice: it is in the HTML before any script runs.
  const served = await (await page.request.get('/containers')).text();
  expect(served).toContain('<html lang="en" data-theme="dark">');
  await page.reload();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(toggle).toHaveAttribute('aria-label', 'Theme: dark');
  expect(await background(page)).toBe(DARK_BG);

  // "system" follows the system; "light" wins over a dark one.
  await page.emulateMedia({ colorScheme: 'dark' });
  await hydrated(page);
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-label', 'Theme: system');
  expect(await background(page)).toBe(DARK_BG);
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-label', 'Theme: light');
  expect(await background(page)).toBe(LIGHT_BG);
});

test('keys: / focuses the filter, g c, g p and g d go places, not while typing', async ({ page }) => {
  await page.goto('/containers');
  await hydrated(page);
  const filter = page.getByRole('searchbox', { name: 'Filter containers' });
  await page.keyboard.press('/');
  await expect(filter).toBeFocused();
  // In a field the keys are text.
  await page.keyboard.type('gp');
  await expect(filter).toHaveValue('gp');
  await expect(page).toHaveURL(/\/containers$/);

  await page.locator('h1').click();
  await page.keyboard.press('g');
  await page.keyboard.press('p');
  await expect(page).toHaveURL(/\/projects$/);
  await page.keyboard.press('g');
  await page.keyboard.press('c');
  await expect(page).toHaveURL(/\/containers$/);
  await page.keyboard.press('g');
  await page.keyboard.press('d');
  await expect(page).toHaveURL(/\/$/);
  // A lone `p` is nothing.
  await page.keyboard.press('p');
  await expect(page).toHaveURL(/\/$/);
});

test('in the log viewer: space pauses and resumes, End follows, Escape clears the filter', async ({ page }) => {
  await page.goto('/containers/berth-e2e-ticker?tab=logs');
  await hydrated(page);
  await expect(page.getByTestId('log-status')).toHaveText('live');
  const pause = page.getByTestId('log-pause');
  await page.locator('h1').click();
  await page.keyboard.press('Space');
  await expect(pause).toHaveText('Resume');
  await page.keyboard.press('Space');
  await expect(pause).toHaveText('Pause');
  await page.keyboard.press('Space');
  await expect(pause).toHaveText('Resume');
  await page.keyboard.press('End');
  await expect(pause).toHaveText('Pause');

  const filter = page.getByTestId('log-filter');
  await filter.fill('tick 1');
  await expect(page.getByTestId('log-count')).toContainText('match');
  // In the filter, space is text, not Pause.
  await filter.press('Space');
  await expect(pause).toHaveText('Pause');
  await filter.press('Escape');
  await expect(filter).toHaveValue('');
  await expect(page.getByTestId('log-count')).toContainText('lines held');
});

test('at 375 px wide no page scrolls sideways', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 800 });
  for (const path of PAGES()) {
    await open(page, path);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(375);
  }
});

test('every page meets WCAG AA contrast in both themes', async ({ page }) => {
  test.setTimeout(90_000);
  for (const theme of ['light', 'dark']) {
    await page.context().addCookies([{ name: 'berth_theme', value: theme, url: BASE }]);
    for (const path of PAGES()) {
      await open(page, path);
      await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
      expect(await lowContrast(page), `${theme} ${path}`).toEqual([]);
      if (theme === 'dark' && path.endsWith('tab=logs') && process.env.BERTH_SCREENSHOT_DIR) {
        await expect.poll(() => page.locator('.log-line').count()).toBeGreaterThan(20);
        await page.screenshot({ path: `${process.env.BERTH_SCREENSHOT_DIR}/dark.png` });
      }
    }
  }
});

test('the container list sorts by a column either way, kept in the URL', async ({ page }) => {
  await page.goto('/containers');
  await hydrated(page);
  const names = () => page.locator('table.containers tbody tr:not([hidden])').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.name ?? ''));
  const states = () => page.locator('table.containers tbody tr:not([hidden]) .state').allTextContents();
  await page.getByTestId('sort-name').click();
  await expect(page).toHaveURL(/\/containers\?sort=name&order=asc$/);
  await expect(page.locator('th[aria-sort="ascending"]')).toHaveText('Name ↑');
  const ascending = await names();
  expect(ascending.length).toBeGreaterThan(3);
  expect(ascending).toEqual([...ascending].sort());
  await page.getByTestId('sort-name').click();
  await expect(page).toHaveURL(/sort=name&order=desc$/);
  await expect.poll(names).toEqual([...ascending].reverse());
  // The server renders the same order: a reload (or a shared link) keeps it.
  await page.reload();
  await hydrated(page);
  expect(await names()).toEqual([...ascending].reverse());
  await page.getByTestId('sort-state').click();
  await expect(page).toHaveURL(/sort=state&order=asc$/);
  await expect.poll(async () => { const s = await states(); return s.join() === [...s].sort().join(); }).toBe(true);
});

/** The rows' `data-name`s of a list, in order. */
function rowNames(page: Page, rows: string): Promise<string[]> {
  return page.locator(rows).evaluateAll((els) => els.map((r) => (r as HTMLElement).dataset.name ?? ''));
}

test('images, volumes, networks and projects sort by their columns, kept in the URL', async ({ page }) => {
  removeSortFixtures();
  for (const volume of SORT_VOLUMES) docker('volume', 'create', volume);
  docker('network', 'create', '--subnet', '198.18.11.0/24', SORT_NETWORK);
  // A second project, of two containers (the fixtures' has three).
  for (const service of ['one', 'two']) {
    docker('create', '--network', 'none', '--name', `${SORT_PROJECT}-${service}`, '--label', `com.docker.compose.project=${SORT_PROJECT}`,
      '--label', `com.docker.compose.service=${service}`, IMAGE, 'true');
  }
  const lists: [string, string, string][] = [
    ['/volumes', 'tr.volume-row', 'name'],
    ['/networks', 'tr.network-row', 'name'],
    ['/projects', 'tr.project-row', 'name'],
  ];
  for (const [path, rows, column] of lists) {
    await page.goto(path);
    await hydrated(page);
    await page.getByTestId(`sort-${column}`).click();
    await expect(page).toHaveURL(new RegExp(`${path}\\?sort=${column}&order=asc$`));
    const ascending = await rowNames(page, rows);
    expect(ascending.length, path).toBeGreaterThanOrEqual(2);
    expect(ascending, path).toEqual([...ascending].sort());
    await page.getByTestId(`sort-${column}`).click();
    await expect(page).toHaveURL(new RegExp(`sort=${column}&order=desc$`));
    await expect.poll(() => rowNames(page, rows), path).toEqual([...ascending].reverse());
    await page.reload();
    expect(await rowNames(page, rows), `${path}, rendered by the server`).toEqual([...ascending].reverse());
  }
  // By number: the project of two containers before the one of three, then after.
  await page.goto('/projects?sort=containers&order=asc');
  await hydrated(page);
  const few = await rowNames(page, 'tr.project-row');
  expect(few.indexOf(SORT_PROJECT)).toBeLessThan(few.indexOf('berth-e2e'));
  await page.getByTestId('sort-containers').click();
  await expect(page).toHaveURL(/sort=containers&order=desc$/);
  await expect.poll(async () => { const l = await rowNames(page, 'tr.project-row'); return l.indexOf(SORT_PROJECT) > l.indexOf('berth-e2e'); }).toBe(true);
  // Images by creation time, which the table shows as sortable text.
  await page.goto('/images?sort=created&order=desc');
  await hydrated(page);
  await expect(page.locator('th[aria-sort="descending"]')).toHaveText('Created ↓');
  const created = await page.locator('tr.image-row td:nth-child(4)').allTextContents();
  expect(created.length).toBeGreaterThanOrEqual(1);
  expect(created).toEqual([...created].sort().reverse());
});

test('charts have a scale in their unit, start at the left and read the value under the pointer', async ({ page }) => {
  await page.goto('/');
  const cpu = page.getByTestId('chart-host-cpu');
  const before = await cpu.boundingBox();
  await hydrated(page);
  await expect(cpu.locator('.chart-top')).toHaveText('100 %');
  await expect(cpu.locator('.chart-mid')).toHaveText('50 %');
  await expect(cpu.locator('.chart-zero')).toHaveText('0 %');
  const points = () => cpu.locator('polyline.line-0').getAttribute('points').then((p) => (p ?? '').split(' ').filter(Boolean));
  await expect.poll(async () => (await points()).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
  // Drawn from the first sample at the left edge, one slot per sample.
  expect((await points())[0]).toMatch(/^0\.0,/);
  await expect(cpu.getByTestId('chart-readout')).toHaveText(/^now: \d+(\.\d+)? %$/);
  // Samples arriving do not move the page: the chart is as tall as before the first one.
  expect((await cpu.boundingBox())!.height).toBe(before!.height);

  // The pointer over the first sample reads it, with its age.
  const area = (await cpu.locator('.chart-area').boundingBox())!;
  await page.mouse.move(area.x + 0.3, area.y + area.height / 2);
  await expect(cpu.getByTestId('chart-readout')).toHaveText(/^\d+ s ago: \d+(\.\d+)? %$/);
  await expect(cpu.locator('line.cursor')).toHaveAttribute('x1', '0.0');
  await page.mouse.move(0, 0);
  await expect(cpu.getByTestId('chart-readout')).toHaveText(/^now: /);

  // A container's memory is in bytes, its network in bytes per second, in and out.
  await page.goto('/containers/berth-e2e-ticker?tab=stats');
  await hydrated(page);
  await expect(page.getByTestId('chart-memory').locator('.chart-top')).toHaveText(/^\d+(\.\d)? (B|KiB|MiB|GiB)$/);
  const net = page.getByTestId('chart-network');
  await expect(net.locator('.chart-top')).toHaveText(/^\d+(\.\d)? (B|KiB|MiB|GiB)\/s$/);
  await expect.poll(() => net.locator('polyline.line-1').getAttribute('points').then((p) => (p ?? '').split(' ').filter(Boolean).length), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
  const netArea = (await net.locator('.chart-area').boundingBox())!;
  await page.mouse.move(netArea.x + 1, netArea.y + 10);
  await expect(net.getByTestId('chart-readout')).toHaveText(/^\d+ s ago: in \d+(\.\d)? (B|KiB|MiB)\/s · out \d+(\.\d)? (B|KiB|MiB)\/s$/);
});

test('Ctrl-K finds a container by a fuzzy name and opens it; arrows choose, Escape closes', async ({ page }) => {
  await page.goto('/images');
  await hydrated(page);
  await page.keyboard.press('Control+k');
  const box = page.getByRole('combobox', { name: 'Search everything' });
  await expect(box).toBeFocused();
  await box.fill('e2etckr');
  const options = page.getByRole('option');
  await expect(options.first()).toContainText('berth-e2e-ticker');
  await expect(options.first()).toHaveAttribute('aria-selected', 'true');
  // Several kinds match a wider query, the nearest first; arrows move the choice.
  await box.fill('berth-e2e');
  await expect(options.first().locator('.search-kind')).toHaveText('project');
  await expect.poll(() => options.locator('.search-kind').allTextContents()).toEqual(expect.arrayContaining(['project', 'container']));
  await box.press('ArrowDown');
  await expect(options.nth(1)).toHaveAttribute('aria-selected', 'true');
  await expect(options.first()).toHaveAttribute('aria-selected', 'false');
  await box.press('ArrowUp');
  await expect(options.first()).toHaveAttribute('aria-selected', 'true');
  // Images by their tag.
  await box.fill('bsybx');
  await expect(options.first().locator('.search-kind')).toHaveText('image');
  await expect(options.first().locator('.search-name')).toHaveText('berth-test/busybox:latest');
  await box.press('Escape');
  await expect(page.getByRole('dialog', { name: 'Search' })).toHaveCount(0);

  // From inside a field too; Enter opens the chosen one.
  await page.getByRole('searchbox').first().focus();
  await page.keyboard.press('Control+k');
  await box.fill('e2etckr');
  await expect(options.first()).toContainText('berth-e2e-ticker');
  await box.press('Enter');
  await expect(page).toHaveURL(/\/containers\/[0-9a-f]{64}$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('berth-e2e-ticker');
  await expect(page.getByRole('dialog', { name: 'Search' })).toHaveCount(0);
  // The header's button opens it as well.
  await page.getByTestId('search-button').click();
  await expect(box).toBeFocused();
  await page.mouse.click(5, 5);
  await expect(page.getByRole('dialog', { name: 'Search' })).toHaveCount(0);
});

test('an empty list says what is empty and what to do', async ({ page }) => {
  await page.goto('/containers');
  await hydrated(page);
  await page.getByRole('searchbox', { name: 'Filter containers' }).fill('no-such-container-anywhere');
  await expect(page.getByTestId('empty')).toHaveText('No container matches the filter: clear it to see them all.');
  await page.getByRole('searchbox', { name: 'Filter containers' }).fill('');
  await expect(page.getByTestId('empty')).toHaveCount(0);
  docker('volume', 'create', SORT_VOLUMES[0]);
  await page.goto('/volumes');
  await hydrated(page);
  await page.getByRole('searchbox').fill('no-such-volume-anywhere');
  await expect(page.locator('td.empty')).toHaveText('Nothing matches the filter: clear it to see them all.');
});
