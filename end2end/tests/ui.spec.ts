// Issue 16, first parts: the theme toggle (system, light, dark), remembered in a cookie and
// rendered by the server so the first paint has it; and the keyboard: `/` focuses the
// page's filter, `g c`, `g p` and `g d` go to containers, projects and the dashboard.
import { test, expect, Page } from '@playwright/test';
import { hydrated } from './metrics';

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
  await expect(toggle).toHaveText('Theme: system');
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
  await expect(toggle).toHaveText('Theme: dark');
  expect(await background(page)).toBe(DARK_BG);

  // "system" follows the system; "light" wins over a dark one.
  await page.emulateMedia({ colorScheme: 'dark' });
  await hydrated(page);
  await toggle.click();
  await expect(toggle).toHaveText('Theme: system');
  expect(await background(page)).toBe(DARK_BG);
  await toggle.click();
  await expect(toggle).toHaveText('Theme: light');
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
