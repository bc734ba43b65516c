// Issue 31: a second factor in the browser, on a berth of its own that requires signing in
// (its own port and data directory; the first admin through the setup link it logs). The
// test is the authenticator app: it reads the secret the page shows and computes the codes
// (RFC 6238, HMAC-SHA1, 30 s, 6 digits) with Node's own crypto.
import { test, expect } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { hydrated } from './metrics';
import { startSigningIn } from './engines';

const ADDR = process.env.BERTH_SECOND_FACTOR_ADDR ?? '127.0.0.1:3316';
const BASE = `http://${ADDR}`;
const PASSWORD = 'a long enough password';

let berth: Awaited<ReturnType<typeof startSigningIn>>;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async () => (berth = await startSigningIn(ADDR, 'second-factor')));
test.afterAll(async () => await berth.stop());

function base32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function appCode(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return number.toString().padStart(6, '0');
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);
let secret = '';

test('an admin sets up a second factor from their account page', async ({ page }) => {
  await page.goto(`${BASE}${await berth.setupLink()}`);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password (12 characters or more)').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create admin and sign in' }).click();
  await expect(page).toHaveURL(`${BASE}/`);
  await hydrated(page);
  await page.locator('.topbar a.user').click();
  await expect(page).toHaveURL(`${BASE}/account`);
  await expect(page.getByTestId('second-factor-off')).toBeVisible();
  await page.getByRole('button', { name: 'Set up a second factor' }).click();
  await expect(page.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible();
  secret = (await page.getByTestId('second-factor-secret').textContent())!.trim();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  const confirm = page.getByRole('form', { name: 'Confirm the second factor' });
  await confirm.getByLabel('Code from the app').fill(appCode(secret, stepNow()));
  await confirm.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  await expect(page.getByTestId('second-factor-on')).toContainText('10 recovery codes left');
});

test('signing in then asks for the code, and takes the app\'s', async ({ page }) => {
  await page.goto(`${BASE}/login`);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/login\?error=code/);
  await expect(page.getByRole('alert')).toContainText('second factor');
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  // The step after the one that confirmed: the first code is spent.
  await page.getByLabel('Code (with a second factor)').fill(appCode(secret, stepNow() + 1));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${BASE}/`);
  await expect(page.locator('.topbar .user')).toContainText('admin');
});
