// Accounts (issue 10) in the browser, on a second berth that requires signing in: its own
// port and a fresh data directory, so the first-run setup link it logs is the way in.
import { test, expect, Browser } from '@playwright/test';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hydrated } from './metrics';

const BERTH_BIN = path.resolve(__dirname, '../../target/release/berth');
const ADDR = process.env.BERTH_SIGNIN_ADDR ?? '127.0.0.1:3314';
const BASE = `http://${ADDR}`;
const PASSWORD = 'a long enough password';
const DEEP = '/containers/berth-e2e-ticker?tab=logs';

let berth: ChildProcess;
let dataDir: string;
let log = '';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-signin-'));
  berth = spawn(BERTH_BIN, ['--bind', ADDR, '--data-dir', path.join(dataDir, 'data'), '--metrics-open'], {
    cwd: path.resolve(__dirname, '../..'),
  });
  berth.stdout?.on('data', (chunk) => (log += chunk.toString()));
  berth.stderr?.on('data', (chunk) => (log += chunk.toString()));
  await expect
    .poll(async () => (await fetch(`${BASE}/api/health`).catch(() => null))?.status, { timeout: 15_000 })
    .toBe(200);
});

test.afterAll(async () => {
  const exited = new Promise((resolve) => berth.once('exit', resolve));
  berth.kill('SIGTERM');
  await exited;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

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
  await expect.poll(() => /\/setup\?token=[0-9a-f]+/.exec(log)?.[0], { timeout: 5_000 }).toBeTruthy();
  const link = /\/setup\?token=[0-9a-f]+/.exec(log)![0];
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
