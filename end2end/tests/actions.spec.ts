// Acting from the UI (issue 12) on containers of the spec's own (label berth.test, one
// compose project): stop and start from a container's page, a bulk stop of three from the
// list, a project restarted, a removal asked first, and an action's error shown where it was
// clicked.
import { test, expect, Page } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import { hydrated } from './metrics';

const NAMES = ['berth-e2e-act-1', 'berth-e2e-act-2', 'berth-e2e-act-3'];
const PROJECT = 'berth-e2e-act';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function run(name: string): void {
  spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  // Ends on SIGTERM within a second, as a well-behaved service does (a bare `sleep` as PID 1
  // ignores it, and every stop would wait Docker's 10 s).
  docker('run', '-d', '--network', 'none', '--label', 'berth.test=1', '--label', `com.docker.compose.project=${PROJECT}`,
    '--label', `com.docker.compose.service=${name.replace('berth-e2e-', '')}`, '--name', name, 'berth-test/busybox:latest',
    'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done');
}

function state(name: string): string {
  return docker('inspect', '--format', '{{.State.Status}}', name);
}

async function open(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await hydrated(page);
}

test.beforeEach(() => NAMES.forEach(run));
test.afterAll(() => NAMES.forEach((name) => spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' })));

test('stop and start from a container page, and remove only after confirming', async ({ page }) => {
  const [name] = NAMES;
  await open(page, `/containers/${name}`);
  const actions = page.getByTestId('container-actions');
  await actions.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('state')).toHaveText('exited');
  expect(state(name)).toBe('exited');
  await actions.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.getByTestId('state')).toHaveText('running');
  expect(state(name)).toBe('running');

  // Remove asks first; Cancel keeps the container.
  await actions.getByRole('button', { name: 'Remove' }).click();
  await expect(actions.getByRole('alertdialog')).toContainText(`Remove ${name}?`);
  await actions.getByRole('button', { name: 'Cancel' }).click();
  expect(state(name)).toBe('running');
  await actions.getByRole('button', { name: 'Remove' }).click();
  await actions.getByRole('alertdialog').getByRole('button', { name: 'Remove' }).click();
  await expect(page).toHaveURL(/\/containers$/);
  expect(spawnSync('docker', ['inspect', name]).status).not.toBe(0);
});

test('a bulk stop of three containers from the list', async ({ page }) => {
  await open(page, '/containers');
  await page.getByRole('searchbox', { name: 'Filter containers' }).fill('berth-e2e-act');
  for (const name of NAMES) {
    await page.getByRole('checkbox', { name: `Select ${name}` }).check();
  }
  const bar = page.getByTestId('bulk-bar');
  await expect(bar.getByTestId('selected-count')).toHaveText('3 selected');
  await bar.getByRole('button', { name: 'Stop' }).click();
  await expect(bar.getByRole('status')).toHaveText('stopped 3 of 3');
  for (const name of NAMES) {
    await expect(page.locator(`tr[data-name="${name}"] .state`)).toHaveText('exited');
    expect(state(name)).toBe('exited');
  }
  await expect(bar.getByTestId('selected-count')).toHaveText('0 selected');
});

test('an action that fails says why where it was clicked', async ({ page }) => {
  const [name] = NAMES;
  await open(page, `/containers/${name}`);
  // Gone behind the page's back: the Stop the page still offers fails, and says so.
  docker('rm', '-f', name);
  const actions = page.getByTestId('container-actions');
  await actions.getByRole('button', { name: 'Stop' }).click();
  await expect(actions.getByRole('alert')).toContainText('no such container');
  await expect(actions.getByRole('button', { name: 'Stop' })).toBeEnabled();
});

test('a project is stopped and started from its page', async ({ page }) => {
  await open(page, `/projects/${PROJECT}`);
  const actions = page.getByTestId('project-actions');
  await actions.getByRole('button', { name: 'Stop' }).click();
  await expect(actions.getByRole('status')).toHaveText('stopped 3 of 3');
  for (const name of NAMES) expect(state(name)).toBe('exited');
  await expect(page.getByTestId('project-states')).toContainText('3 exited');
  await actions.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(actions.getByRole('status')).toHaveText('started 3 of 3');
  await expect(page.getByTestId('project-states')).toContainText('3 running');
});
