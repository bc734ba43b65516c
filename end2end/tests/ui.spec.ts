// Issue 16, first parts: the theme toggle (system, light, dark), remembered in a cookie and
// rendered by the server so the first paint has it; and the keyboard: `/` focuses the
// page's filter, `g c`, `g p` and `g d` go to containers, projects and the dashboard; in the
// log viewer space pauses, End follows and Escape clears the filter; at 375 px wide no page
// scrolls sideways; every page meets WCAG AA contrast in both themes; and the container list
// sorts by its columns, the choice kept in the URL.
import { test, expect, Page } from '@playwright/test';
import { BASE, hydrated } from './metrics';
import { lowContrast } from './contrast';

/** Every kind of page, on the fixtures (scripts/test.sh's) and the spec's own container. */
const PAGES = ['/', '/containers', '/projects', '/projects/berth-e2e', '/images', '/volumes', '/networks',
  '/disk', '/swarm', '/all/containers', '/containers/berth-e2e-solo', '/containers/berth-e2e-ticker?tab=logs',
  '/containers/berth-e2e-ticker?tab=stats', '/containers/berth-e2e-solo?tab=terminal'];

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
  for (const path of PAGES) {
    await page.goto(path);
    await hydrated(page);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(375);
  }
});

test('every page meets WCAG AA contrast in both themes', async ({ page }) => {
  test.setTimeout(90_000);
  for (const theme of ['light', 'dark']) {
    await page.context().addCookies([{ name: 'berth_theme', value: theme, url: BASE }]);
    for (const path of PAGES) {
      await page.goto(path);
      await hydrated(page);
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
