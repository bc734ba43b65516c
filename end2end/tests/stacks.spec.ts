// Compose stacks from the browser, with the real compose CLI on the real engine: write a
// stack in the editor, see a YAML error at its line, fix it, deploy with its plan, watch the
// run's output, see the services come up live, change one service and see the plan name it
// alone, deploy again, restore the previous version, take it down, remove it.
import { test, expect, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { docker } from '../fixtures/docker';
import { BASE, expectServerIdle, hydrated } from './metrics';

const NAME = 'e2e-stack';

const service = (name: string, says: string) => `  ${name}:
    image: berth-test/busybox:latest
    command: sh -c "echo ${says}; sleep 3600"
    network_mode: none
    stop_grace_period: 1s
`;
const FIRST = `services:\n${service('web', 'web one')}${service('db', 'db one')}`;
const SECOND = `services:\n${service('web', 'web two')}${service('db', 'db one')}`;
// Line 4 is indented under nothing: the YAML reader names it.
const BROKEN = 'services:\n  web:\n    image: a\n   bad: [\n';

function sweep(): void {
  const ids = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${NAME}`);
  if (ids) docker('rm', '-f', ...ids.split('\n'));
}

test.beforeAll(async ({ request }) => {
  sweep();
  const gone = await request.delete(`${BASE}/api/stacks/${NAME}`);
  expect([204, 404]).toContain(gone.status());
});

test.afterAll(() => sweep());

/** Replaces the compose editor's text, as a paste would. */
async function write(page: Page, text: string): Promise<void> {
  const content = page.getByTestId('compose-editor').locator('.cm-content');
  await content.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

/** The run a button started (its number, from what the page said), once it has ended. */
async function ended(page: Page): Promise<void> {
  const said = page.getByTestId('run-said');
  await expect(said).toContainText(/started: run \d+/);
  const run = (await said.textContent())!.match(/run (\d+)/)![1];
  const output = page.locator(`[data-testid="run-output"][data-run="${run}"]`);
  await expect(output.getByTestId('run-ended')).toHaveText(/exit 0/, { timeout: 60_000 });
}

/** The id of the stack's container of `svc`, by compose's labels. */
function container(svc: string): string {
  return docker('ps', '-q', '--filter', `label=com.docker.compose.project=${NAME}`, '--filter', `label=com.docker.compose.service=${svc}`);
}

/** Presses a run's button, reads the plan, runs it, and waits for the run to end well. */
async function deploy(page: Page, expected: Record<string, string>): Promise<void> {
  await page.locator('.stack-actions [data-action="deploy"]').click();
  const plan = page.getByTestId('plan');
  for (const [svc, change] of Object.entries(expected)) {
    await expect(plan.locator(`tr.plan-row[data-service="${svc}"]`)).toHaveAttribute('data-change', change);
  }
  await expect(plan.locator('tr.plan-row')).toHaveCount(Object.keys(expected).length);
  await page.getByTestId('plan-go').click();
  await ended(page);
}

test('a stack written, deployed, changed, restored and taken down from the browser', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto('/stacks');
  await hydrated(page);
  await page.locator('.new-stack summary').click();
  await page.getByLabel('Stack name').fill(NAME);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(new RegExp(`/stacks/${NAME}$`));
  await hydrated(page);
  await expect(page.getByTestId('stack-state')).toHaveText('not deployed');
  // A second new stack of that name is refused: nothing is written over.
  await page.goto('/stacks');
  await hydrated(page);
  await page.locator('.new-stack summary').click();
  await page.getByLabel('Stack name').fill(NAME);
  await page.getByLabel("New stack's compose file").fill('services: {}\n');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.locator('.new-stack [role=alert]')).toContainText(`a stack named ${NAME} exists`);
  await page.locator(`tr.stack-row[data-name="${NAME}"] a`).click();
  await expect(page).toHaveURL(new RegExp(`/stacks/${NAME}$`));
  await hydrated(page);

  // The code editor loads, and a file the CLI cannot read is marked at its line.
  await expect(page.getByTestId('compose-editor').locator('.cm-editor')).toBeVisible();
  await write(page, BROKEN);
  await page.keyboard.press('Control+S');
  await expect(page.getByTestId('save-said')).toContainText('line 4');
  await expect(page.locator('.cm-error-line')).toHaveAttribute('data-error-line', '4');
  await write(page, FIRST);
  await page.keyboard.press('Control+S');
  await expect(page.getByTestId('save-said')).toContainText('saved as version 2');
  await expect(page.locator('.cm-error-line')).toHaveCount(0);

  // The first deploy creates both; its output streams in; the services come up live.
  await deploy(page, { web: 'create', db: 'create' });
  const output = page.getByTestId('run-output');
  await expect(output.locator('.log-line').filter({ hasText: /Creating|Created/ })).not.toHaveCount(0);
  await expect(page.locator('tr.member-row')).toHaveCount(2);
  await expect(page.getByTestId('stack-state')).toHaveText('running');
  await expect(page.getByTestId('stack-running')).toHaveText('2 of 2 services running');

  // One service changed: the plan names it alone.
  await write(page, SECOND);
  await page.getByTestId('save-stack').click();
  await expect(page.getByTestId('save-said')).toContainText('saved as version 3');
  await deploy(page, { web: 'recreate', db: 'unchanged' });
  expect(docker('logs', container('web'))).toContain('web two');

  // One service alone: db restarted, web left running; down takes the whole stack only.
  const started = (svc: string) => docker('inspect', '--format', '{{.State.StartedAt}}', container(svc));
  const [webBefore, dbBefore] = [started('web'), started('db')];
  await page.getByTestId('run-scope').selectOption('db');
  await expect(page.locator('.stack-actions [data-action="down"]')).toBeDisabled();
  await page.locator('.stack-actions [data-action="restart"]').click();
  await ended(page);
  expect(started('db')).not.toBe(dbBefore);
  expect(started('web')).toBe(webBefore);
  await expect(page.locator('tr.run-row').first()).toContainText('restart db');
  await page.getByTestId('run-scope').selectOption('');
  await expect(page.locator('.stack-actions [data-action="down"]')).toBeEnabled();

  // The runs are listed with how they ended.
  await expect(page.locator('tr.run-row')).toHaveCount(3);
  await expect(page.locator('tr.run-row').first().getByTestId('run-outcome')).toHaveText(/exit 0/);

  // Version 2 against the editor, then restored (asked first).
  await page.locator('tr.version-row[data-version="2"]').getByRole('button', { name: 'Diff' }).click();
  const diff = page.getByTestId('version-diff');
  await expect(diff.locator('.diff-removed')).toHaveText(['- ' + '    command: sh -c "echo web one; sleep 3600"']);
  await expect(diff.locator('.diff-added')).toHaveText(['+ ' + '    command: sh -c "echo web two; sleep 3600"']);
  await diff.getByRole('button', { name: 'Restore this version' }).click();
  await diff.getByRole('button', { name: 'Restore', exact: true }).click();
  await expect(diff).toContainText('version 2 restored as version 4');
  await expect(page.getByTestId('compose-editor').locator('.cm-content')).toContainText('echo web one');

  // Down, asked first; the services go, live.
  await page.locator('.stack-actions [data-action="down"]').click();
  await page.getByTestId('down-confirm').getByRole('button', { name: 'Down' }).click();
  await ended(page);
  await expect(page.getByTestId('stack-state')).toHaveText('not deployed');
  await expect(page.locator('tr.member-row')).toHaveCount(0);
  expect(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${NAME}`)).toBe('');

  // Removed, asked first: back to the list, where it is gone.
  await page.getByRole('button', { name: 'Remove stack' }).click();
  await page.locator('.stack-manage').getByRole('button', { name: 'Remove', exact: true }).click();
  await expect(page).toHaveURL(/\/stacks$/);
  await hydrated(page);
  await expect(page.locator('h1')).toHaveText('Stacks');
  await expect(page.locator('.new-stack')).toBeVisible();
  await expect(page.locator(`tr.stack-row[data-name="${NAME}"]`)).toHaveCount(0);
  await page.close();
  await expectServerIdle();
});

test('the stacks pages render on the server, per engine and across engines', async ({ page }) => {
  for (const path of ['/stacks', '/all/stacks']) {
    const response = await page.goto(path);
    expect(response?.status()).toBe(200);
    await expect(page.locator('h1')).toHaveText(path === '/stacks' ? 'Stacks' : 'All stacks');
  }
  const missing = await page.goto(`/stacks/no-such-stack`);
  expect(missing?.status()).toBe(404);
  await page.close();
  await expectServerIdle();
});

test("a project deployed by hand is external: its file shown read-only, no editor of Berth's", async ({ page }) => {
  const name = 'e2e-byhand';
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'berth-e2e-byhand-')));
  const file = path.join(dir, 'docker-compose.yml');
  writeFileSync(file, `services:\n${service('app', 'by hand')}`);
  const compose = (...args: string[]) =>
    execFileSync('docker-compose', ['-p', name, '-f', file, ...args], { stdio: 'pipe' });
  try {
    compose('up', '-d');
    await page.goto(`/stacks/${name}`);
    await hydrated(page);
    await expect(page.locator('h1 .tag')).toHaveText('external');
    const shown = page.getByTestId('external-file');
    await expect(shown.getByTestId('external-path')).toHaveText(file);
    await expect(shown.locator('.cm-content')).toContainText('echo by hand');
    await expect(shown.locator('.cm-content')).toHaveAttribute('contenteditable', 'false');
    await expect(page.getByTestId('compose-editor')).toHaveCount(0);
    await expect(page.locator('.stack-actions')).toHaveCount(0);
  } finally {
    compose('down', '-t', '0');
    rmSync(dir, { recursive: true, force: true });
  }
  await page.close();
  await expectServerIdle();
});
