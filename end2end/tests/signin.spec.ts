// Accounts (issue 10) in the browser (and issue 16's contrast and width checks of its pages), on a second berth that requires signing in: its own
// port and a fresh data directory, so the first-run setup link it logs is the way in.
import { test, expect, Browser } from '@playwright/test';
import { hydrated } from './metrics';
import { lowContrast } from './contrast';
import { startSigningIn } from './engines';

const ADDR = process.env.BERTH_SIGNIN_ADDR ?? '127.0.0.1:3314';
const BASE = `http://${ADDR}`;
const PASSWORD = 'a long enough password';
const DEEP = '/containers/berth-e2e-ticker?tab=logs';

let berth: Awaited<ReturnType<typeof startSigningIn>>;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async () => (berth = await startSigningIn(ADDR, 'signin', ['--metrics-open'])));
test.afterAll(async () => await berth.stop());

async function signIn(browser: Browser, javaScriptEnabled: boolean, password = PASSWORD) {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await page.goto(`${BASE}${DEEP}`);
  await expect(page).toHaveURL(`${BASE}/login?next=${encodeURIComponent(DEEP).replaceAll('%2F', '/')}`);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return { context, page };
}

test('first run: the logged setup link creates the admin, once', async ({ page }) => {
  const link = await berth.setupLink();
  // A stranger without the token gets nowhere.
  await page.goto(`${BASE}/setup?token=guessed`);
  await page.getByLabel('User name').fill('mallory');
  await page.getByLabel('Password (12 characters or more)').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create admin and sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('wrong setup token');

  await page.goto(`${BASE}${link}`);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password (12 characters or more)').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create admin and sign in' }).click();
  await expect(page).toHaveURL(`${BASE}/`);
  await expect(page.locator('.topbar .user')).toContainText('admin');
});

test('without JavaScript, signing in lands on the deep link', async ({ browser }) => {
  const { context, page } = await signIn(browser, false);
  await expect(page).toHaveURL(`${BASE}${DEEP}`);
  await expect(page.locator('.topbar .user')).toContainText('admin');
  await context.close();
});

test('a wrong password says so and stays on the sign-in page', async ({ browser }) => {
  const { context, page } = await signIn(browser, true, 'not the password');
  await expect(page.getByRole('alert')).toContainText('Wrong user name or password');
  await expect(page).toHaveURL(/\/login\?error=1&next=/);
  await context.close();
});

async function signInAs(browser: Browser, name: string, password: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${BASE}/`);
  await hydrated(page);
  return { context, page };
}

const VIEWER = 'vera';
const VIEWER_PASSWORD = 'vera has a long password';

test('an admin adds a user, makes and revokes a token (asked first), and reads the audit log', async ({ browser }) => {
  const { context, page } = await signInAs(browser, 'admin', PASSWORD);
  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await expect(page).toHaveURL(`${BASE}/admin`);
  await expect(page.locator('tr[data-user="admin"]')).toContainText('(you)');

  const add = page.getByRole('form', { name: 'Add a user' });
  await add.getByLabel('User name').fill(VIEWER);
  await add.getByLabel('Password (12 characters or more)').fill(VIEWER_PASSWORD);
  await add.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('status')).toContainText(`Added ${VIEWER} (viewer)`);
  await expect(page.locator(`tr[data-user="${VIEWER}"] select`)).toHaveValue('viewer');
  // The server's rules come back as they are: the last admin cannot be demoted.
  await page.locator('tr[data-user="admin"] select').selectOption('viewer');
  await expect(page.getByRole('alert')).toContainText('last admin');
  await expect(page.locator('tr[data-user="admin"] select')).toHaveValue('admin');

  await page.getByRole('link', { name: 'API tokens' }).click();
  const make = page.getByRole('form', { name: 'Make an API token' });
  await make.getByLabel('Name (what uses it)').fill('scraper');
  await make.getByRole('button', { name: 'Make token' }).click();
  const token = await page.getByTestId('new-token').inputValue();
  expect(token).toMatch(/^berth_[0-9a-f]+$/);
  const asToken = () =>
    fetch(`${BASE}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
  expect(await asToken()).toBe(200);
  const row = page.locator('tr[data-token="scraper"]');
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row.getByRole('alertdialog')).toContainText('Revoke scraper?');
  await row.getByRole('button', { name: 'Cancel' }).click();
  expect(await asToken()).toBe(200);
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByTestId('new-token')).toHaveCount(0);
  expect(await asToken()).toBe(401);

  await page.getByRole('link', { name: 'Audit log' }).click();
  const audit = page.getByTestId('audit');
  for (const action of ['user.add', 'token.create', 'token.revoke', 'setup']) {
    await expect(audit.locator(`tr[data-action="${action}"]`).first()).toBeVisible();
  }
  await page.getByLabel('What').fill('token.revoke');
  await page.getByLabel('What').press('Enter');
  await expect(audit.locator('tbody tr')).toHaveCount(1);
  await expect(audit.locator('tbody tr')).toContainText('scraper');
  await context.close();
});

test('a viewer sees no admin page', async ({ browser }) => {
  const { context, page } = await signInAs(browser, VIEWER, VIEWER_PASSWORD);
  await expect(page.locator('.topbar .user')).toContainText('viewer');
  await expect(page.locator('.topbar nav')).toContainText('Projects');
  await expect(page.getByRole('link', { name: 'Admin', exact: true })).toHaveCount(0);
  for (const path of ['/admin', '/admin/tokens', '/admin/audit']) {
    const response = await page.goto(`${BASE}${path}`);
    expect(response?.status()).toBe(403);
    await expect(page.locator('.error-panel')).toContainText('only an admin');
    await expect(page.locator('table')).toHaveCount(0);
  }
  expect((await page.request.get(`${BASE}/api/users`)).status()).toBe(403);
  await context.close();
});

test('an admin removes a user only after confirming, and their session ends', async ({ browser }) => {
  const viewer = await signInAs(browser, VIEWER, VIEWER_PASSWORD);
  const { context, page } = await signInAs(browser, 'admin', PASSWORD);
  await page.goto(`${BASE}/admin`);
  await hydrated(page);
  const row = page.locator(`tr[data-user="${VIEWER}"]`);
  await row.getByRole('button', { name: 'Remove' }).click();
  await row.getByRole('button', { name: 'Cancel' }).click();
  await expect(row).toHaveCount(1);
  await row.getByRole('button', { name: 'Remove' }).click();
  await row.getByRole('button', { name: 'Yes, remove' }).click();
  await expect(page.getByRole('status')).toContainText(`Removed ${VIEWER}`);
  await expect(row).toHaveCount(0);
  expect((await viewer.page.request.get(`${BASE}/api/auth/me`)).status()).toBe(401);
  await viewer.context.close();
  await context.close();
});

test('the sign-in and admin pages meet WCAG AA contrast in both themes and fit 375 px', async ({ browser }) => {
  test.setTimeout(60_000);
  for (const theme of ['light', 'dark']) {
    const stranger = await browser.newContext({ viewport: { width: 375, height: 800 } });
    await stranger.addCookies([{ name: 'berth_theme', value: theme, url: BASE }]);
    const page = await stranger.newPage();
    await page.goto(`${BASE}/login`);
    await hydrated(page);
    expect(await lowContrast(page), `${theme} /login`).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), `${theme} /login`).toBeLessThanOrEqual(375);
    await stranger.close();

    const { context, page: admin } = await signIn(browser, true);
    await expect(admin).toHaveURL(`${BASE}${DEEP}`);
    await context.addCookies([{ name: 'berth_theme', value: theme, url: BASE }]);
    for (const where of ['/admin', '/admin/tokens', '/admin/audit']) {
      for (const width of [1280, 375]) {
        await admin.setViewportSize({ width, height: 800 });
        await admin.goto(`${BASE}${where}`);
        await hydrated(admin);
        await expect(admin.locator('html')).toHaveAttribute('data-theme', theme);
        if (width === 375) {
          expect(await admin.evaluate(() => document.documentElement.scrollWidth), `${theme} ${where}`).toBeLessThanOrEqual(375);
        } else {
          expect(await lowContrast(admin), `${theme} ${where}`).toEqual([]);
        }
      }
    }
    await context.close();
  }
});

test('hydrated: signed in, the log streams; signing out closes every socket', async ({ browser }) => {
  const { context, page } = await signIn(browser, true);
  await expect(page).toHaveURL(`${BASE}${DEEP}`);
  await hydrated(page);
  await expect.poll(() => page.locator('.log-line').count()).toBeGreaterThan(0);
  const clients = async () => {
    const text = await (await fetch(`${BASE}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('berth_ws_clients{'))
      .reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
  };
  await expect.poll(clients).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${BASE}/login`);
  await expect.poll(clients, { timeout: 5_000 }).toBe(0);
  // The old session is gone on the server: the deep link asks to sign in again.
  await page.goto(`${BASE}${DEEP}`);
  await expect(page).toHaveURL(/\/login\?next=/);
  await context.close();
});
