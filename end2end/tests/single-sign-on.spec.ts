// Issue 31: single sign-on in Chromium, through a real OpenID provider (panva's
// oidc-provider, fixtures/oidc-provider.mjs, on loopback) and a berth of its own that signs
// in through it (its own port and data directory). The user clicks the provider's button,
// signs in on the provider's own pages, comes back signed in with the role their group
// gives, and signing out ends the provider's session too.
import { test, expect } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hydrated } from './metrics';
import { startSigningIn } from './engines';

const ADDR = process.env.BERTH_SSO_ADDR ?? '127.0.0.1:3317';
const BASE = `http://${ADDR}`;

let provider: ChildProcess;
let issuer = '';
let berth: Awaited<ReturnType<typeof startSigningIn>>;
let configFile = '';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-oidc-')), 'oidc.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      port: 0,
      clients: [
        {
          client_id: 'berth',
          client_secret: 'berth-e2e-secret',
          redirect_uris: [`${BASE}/api/auth/oidc/callback`],
          post_logout_redirect_uris: [`${BASE}/login`],
        },
      ],
      users: { alice: { groups: ['admins'] }, vera: { groups: [] } },
    }),
  );
  provider = spawn('node', [path.join(__dirname, '..', 'fixtures', 'oidc-provider.mjs'), configFile], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  issuer = await new Promise<string>((resolve, reject) => {
    let out = '';
    provider.stdout!.on('data', (chunk) => {
      out += chunk.toString();
      const found = /listening (\S+)/.exec(out);
      if (found) resolve(found[1]);
    });
    provider.once('exit', (code) => reject(new Error(`the OpenID provider exited (${code})`)));
  });
  berth = await startSigningIn(ADDR, 'sso', [
    '--public-url', BASE,
    '--oidc-issuer', issuer,
    '--oidc-client-id', 'berth',
    '--oidc-client-secret', 'berth-e2e-secret',
    '--oidc-scope', 'openid,profile,email,groups',
    '--oidc-name', 'Test ID',
    '--group-role', 'admins=admin',
  ]);
});

test.afterAll(async () => {
  await berth?.stop();
  provider?.kill();
  fs.rmSync(path.dirname(configFile), { recursive: true, force: true });
});

test('signing in with the provider, then out of both', async ({ page }) => {
  await page.goto(`${BASE}/login`);
  await page.getByTestId('sign-in-with-provider').click();
  // The provider's own sign-in and consent pages.
  await expect(page).toHaveURL(new RegExp(`^${issuer}/interaction/`));
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await expect(page.locator('button[type="submit"]')).toHaveText(/Continue/);
  await page.locator('button[type="submit"]').click();
  // Back at Berth, signed in, an admin by the provider's group.
  await expect(page).toHaveURL(`${BASE}/`);
  await hydrated(page);
  await expect(page.locator('.topbar .user')).toContainText('alice');
  const me = await page.evaluate(async () => (await fetch('/api/auth/me')).json());
  expect(me.role).toBe('admin');

  // Signing out goes through the provider's logout and back to the sign-in page.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(new RegExp(`^${issuer}/session/end`));
  await page.getByRole('button', { name: /sign me out/i }).click();
  await expect(page).toHaveURL(`${BASE}/login`);
  expect((await page.request.get(`${BASE}/api/auth/me`)).status()).toBe(401);
  // The provider's session ended too: its sign-in page is asked again.
  await page.getByTestId('sign-in-with-provider').click();
  await expect(page.locator('input[name="login"]')).toBeVisible();
});

/** Signs in at the provider's own pages as `user` (consenting when it asks), until the
 * provider sends the browser back to Berth. */
async function atProvider(page: import('@playwright/test').Page, user: string) {
  await expect(page).toHaveURL(new RegExp(`^${issuer}/interaction/`));
  await page.locator('input[name="login"]').fill(user);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await expect(page).toHaveURL(new RegExp(`^(${issuer}/interaction/|${BASE}/)`));
  if (page.url().startsWith(issuer)) {
    await page.locator('button[type="submit"]').click();
  }
  await expect(page).toHaveURL(new RegExp(`^${BASE}/`));
}

test('an admin ties a local user to the provider\'s identity, and unties it', async ({ page, browser }) => {
  await page.goto(`${BASE}/login`);
  await page.getByTestId('sign-in-with-provider').click();
  await atProvider(page, 'alice');
  await expect(page).toHaveURL(`${BASE}/`);
  await page.goto(`${BASE}/admin`);
  await hydrated(page);
  const add = page.getByRole('form', { name: 'Add a user' });
  await add.getByLabel('User name').fill('dave');
  await add.getByLabel('Password (12 characters or more)').fill('dave has a long password');
  await add.getByRole('button', { name: 'Add user' }).click();
  const row = page.locator('tr[data-user="dave"]');
  await expect(row).toBeVisible();

  // Before the tie, the provider's dave may not become the local dave.
  const other = await browser.newContext();
  const visitor = await other.newPage();
  await visitor.goto(`${BASE}/login`);
  await visitor.getByTestId('sign-in-with-provider').click();
  await atProvider(visitor, 'dave');
  await expect(visitor).toHaveURL(/\/login\?error=sso&why=refused/);

  await row.getByRole('button', { name: 'Tie an identity…' }).click();
  const tie = row.getByRole('form', { name: 'Tie an identity' });
  await tie.getByLabel('Provider').selectOption('oidc');
  await tie.getByLabel('Subject').fill('dave');
  await tie.getByRole('button', { name: 'Tie' }).click();
  await expect(row.locator('[data-identity="oidc: dave"]')).toBeVisible();

  // Now the provider's dave is the local one.
  await visitor.getByTestId('sign-in-with-provider').click();
  await expect(visitor).toHaveURL(`${BASE}/`);
  await expect(visitor.locator('.topbar .user')).toContainText('dave');
  await other.close();

  await row.locator('[data-identity="oidc: dave"]').getByRole('button', { name: 'Untie' }).click();
  await row.getByRole('button', { name: 'Yes, untie' }).click();
  await expect(row.locator('[data-identity]')).toHaveCount(0);
});

test('a failed sign-in comes back to the sign-in page, saying why', async ({ page }) => {
  await page.goto(`${BASE}/api/auth/oidc/callback?code=x&state=y`);
  await expect(page).toHaveURL(/\/login\?error=sso/);
  await expect(page.getByRole('alert')).toContainText('Single sign-on did not finish');
});
