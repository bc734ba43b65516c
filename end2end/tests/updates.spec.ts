// Image updates (issue 29) against a private registry on 127.0.0.1
// (scripts/private-registry.sh): a container runs an image pulled from it; a new image is
// pushed under the same tag; "Check for updates" on the list puts a badge on its row, the
// "updates available" filter keeps that row alone, and its page says what the newer image
// is. From that page an update is asked first, then watched step by step; a new image
// whose health check fails is rolled back, and the page says so. A policy chosen on the
// container's page shows on the updates page, where it is removed. Registry credentials are
// stored there, never shown again, and removed when asked. A swarm service (a private
// engine that is a single-node swarm, a Berth of the test's own) gets its badge on the
// swarm page, and its update, asked first on its page, is watched to its end.
import { test, expect } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { hydrated } from './metrics';
import { LOCAL, docker as dockerOn, privateEngine, startBerth } from './engines';

const SCRIPT = path.resolve(__dirname, '../../scripts/private-registry.sh');
const REGISTRY_PORT = Number(process.env.BERTH_E2E_REGISTRY_PORT ?? 3318);
const REPOSITORY = `berth-e2e/updated-${process.pid}`;
const REFERENCE = `127.0.0.1:${REGISTRY_PORT}/${REPOSITORY}:1`;
const NAME = `berth-e2e-updated-${process.pid}`;
/** What the spec pushed (`repository@digest`), removed after it by digest (a moved tag no
 * longer names it), and the containers it ran. */
const pushed: string[] = [];
const containers: string[] = [];
/** The references the spec's containers ran: their tags are removed after it too (an
 * update leaves the newer image under the tag). */
const references: string[] = [REFERENCE];

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The test image with a label of its own (a digest of its own) and `changes` (`docker
 * commit --change`), pushed as `reference`. */
function pushVersion(version: number, reference = REFERENCE, changes: string[] = []): string {
  const made = docker('create', '--label', 'berth.test=1', 'berth-test/busybox:latest', 'true');
  docker('commit', '--change', `LABEL berth.version=${version}`, ...changes.flatMap((c) => ['--change', c]), made, reference);
  docker('rm', made);
  const said = docker('push', reference);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(said)?.[1];
  if (!digest) throw new Error(`no digest in: ${said}`);
  pushed.push(`${reference.replace(/:1$/, '')}@${digest}`);
  return digest;
}

/** A container running `reference`'s version 1, with version 2 (and `changes`) pushed after
 * it: the registry holds a newer image than the one it runs. */
function runOutdated(name: string, reference: string, changes: string[] = []): void {
  pushVersion(1, reference);
  references.push(reference);
  docker('run', '-d', '--network', 'none', '--label', 'berth.test=1', '--name', name, reference, 'sleep', '600');
  containers.push(name);
  pushVersion(2, reference, changes);
  docker('rmi', reference);
}

async function checkFromItsPage(page: import('@playwright/test').Page, name: string): Promise<void> {
  await page.goto(`/containers/${name}`);
  await hydrated(page);
  await page.getByTestId('check-update').click();
  await expect(page.getByTestId('image-update')).toContainText('update available', { timeout: 30_000 });
}

test.beforeAll(() => {
  execFileSync('bash', [SCRIPT, 'start', String(REGISTRY_PORT)], { stdio: 'ignore' });
});
test.afterAll(() => {
  // By name filter: an update cut short may have left NAME-berth-old-TIME.
  for (const name of [NAME, ...containers]) {
    const left = spawnSync('docker', ['ps', '-aq', '--filter', `name=${name}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    if (left.length) spawnSync('docker', ['rm', '-f', '-v', ...left], { stdio: 'ignore' });
  }
  for (const image of pushed) {
    spawnSync('docker', ['rmi', '-f', image], { stdio: 'ignore' });
  }
  for (const reference of references) {
    spawnSync('docker', ['rmi', '-f', reference], { stdio: 'ignore' });
  }
  spawnSync('bash', [SCRIPT, 'stop'], { stdio: 'ignore' });
});

test('a newer image gets a badge, a filter and a line on its page', async ({ page }) => {
  pushVersion(1);
  docker('run', '-d', '--network', 'none', '--label', 'berth.test=1', '--name', NAME, REFERENCE, 'sleep', '600');
  // The new image is in the registry only: the local copy goes back to version 1's tag.
  const newer = pushVersion(2);
  docker('rmi', REFERENCE);

  await page.goto('/containers');
  await hydrated(page);
  const row = page.locator(`tr.container-row[data-name="${NAME}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId('update-badge')).toHaveCount(0);

  await page.getByTestId('check-updates').click();
  await expect(row.getByTestId('update-badge')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('updates-summary')).toContainText('checked');
  // Update all is offered (asked first; not taken here: later tests update one at a time).
  await page.getByTestId('update-all').click();
  await expect(page.getByRole('alertdialog')).toContainText('one after another');
  await page.getByRole('alertdialog').getByRole('button', { name: 'Cancel' }).click();

  // The filter keeps the rows with an update: this one.
  await page.getByLabel('Updates available only').check();
  await expect(row).toBeVisible();
  await expect(page.getByTestId('shown-count')).toHaveText(/^1 of \d+$/);
  await page.getByLabel('Updates available only').uncheck();
  await expect(page.getByTestId('shown-count')).toHaveText(/^(\d+) of \1$/);

  await row.getByRole('link', { name: NAME }).click();
  const update = page.getByTestId('image-update');
  await expect(update).toContainText('update available');
  await expect(update).toContainText(`newer image ${newer.slice('sha256:'.length, 'sha256:'.length + 12)}`);
  await expect(update).toContainText('first seen');
});

test('an update is asked first, watched step by step, and a new container takes the name', async ({ page }) => {
  const name = `berth-e2e-update-${process.pid}`;
  const reference = `127.0.0.1:${REGISTRY_PORT}/berth-e2e/update-${process.pid}:1`;
  runOutdated(name, reference);
  const before = docker('inspect', '--format', '{{.Id}} {{.Image}}', name).split(' ');
  await checkFromItsPage(page, name);

  await page.getByTestId('update').click();
  const question = page.getByRole('alertdialog');
  await expect(question).toContainText('The old container is kept, stopped, until the new one runs');
  await question.getByTestId('update-yes').click();
  const output = page.getByTestId('update-output');
  await expect(output).toContainText(`pulling ${reference.replace(/:1$/, '')}`, { timeout: 30_000 });
  await expect(output.getByTestId('update-ended')).toHaveText('updated', { timeout: 60_000 });
  await expect(output).toContainText('removed the old container');
  const after = docker('inspect', '--format', '{{.Id}} {{.Image}}', name).split(' ');
  expect(after[0]).not.toBe(before[0]);
  expect(after[1]).not.toBe(before[1]);
  await output.getByTestId('updated-link').click();
  await expect(page.getByTestId('container-id')).toHaveText(after[0]);
});

test('a new image that is never healthy is rolled back, and the page says so', async ({ page }) => {
  const name = `berth-e2e-rollback-${process.pid}`;
  const reference = `127.0.0.1:${REGISTRY_PORT}/berth-e2e/rollback-${process.pid}:1`;
  runOutdated(name, reference, ['HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false']);
  const before = docker('inspect', '--format', '{{.Id}} {{.Image}}', name);
  await checkFromItsPage(page, name);

  await page.getByTestId('update').click();
  await page.getByRole('alertdialog').getByTestId('update-yes').click();
  const output = page.getByTestId('update-output');
  await expect(output.getByTestId('update-ended')).toContainText('rolled back: its health check failed', {
    timeout: 60_000,
  });
  await expect(output).toContainText(`rolled back: ${name} runs its old image again`);
  await expect(output.getByTestId('updated-link')).toHaveCount(0);
  expect(docker('inspect', '--format', '{{.Id}} {{.Image}}', name)).toBe(before);
  expect(docker('inspect', '--format', '{{.State.Running}}', name)).toBe('true');
});

test('a policy chosen on its page is on the updates page, where it can be removed', async ({ page }) => {
  const name = `berth-e2e-policy-${process.pid}`;
  const reference = `127.0.0.1:${REGISTRY_PORT}/berth-e2e/policy-${process.pid}:1`;
  runOutdated(name, reference);
  await checkFromItsPage(page, name);
  const policy = page.getByTestId('update-policy');
  await expect(policy).toHaveText('policy: notify (the default)');
  await page.getByTestId('policy-choice').selectOption('off');
  await expect(policy).toHaveText('policy: off (kept by Berth for it)');
  await expect(page.getByTestId('image-update')).toContainText('excluded');
  await expect(page.getByTestId('update')).toHaveCount(0);

  await page.goto('/updates');
  await hydrated(page);
  await expect(page.getByTestId('auto-settings')).toContainText('72 h');
  const rule = page.getByTestId('policy-row').filter({ hasText: name });
  await expect(rule).toContainText('off');
  await rule.getByRole('button', { name: 'Remove' }).click();
  await expect(rule).toHaveCount(0);
  await expect(page.getByTestId('update-runs').or(page.getByTestId('no-update-runs'))).toBeVisible();

  await page.goto(`/containers/${name}`);
  await hydrated(page);
  await expect(page.getByTestId('update-policy')).toHaveText('policy: notify (the default)', { timeout: 30_000 });
});

test('registry credentials are stored on the updates page, never shown again, and removed when asked', async ({ page }) => {
  const registry = `127.0.0.1:${REGISTRY_PORT}`;
  const secret = `e2e-secret-${process.pid}`;
  await page.goto('/updates');
  await hydrated(page);
  // The list is read in the browser: once it is there, the form is the live one.
  await expect(page.getByTestId('no-registry-logins')).toBeVisible();
  const form = page.getByTestId('registry-login-form');
  await form.getByLabel('Registry').fill(registry);
  await form.getByLabel('User').fill('e2e');
  await form.getByLabel('Password or access token').fill(secret);
  await form.getByRole('button', { name: 'Store' }).click();
  const row = page.getByTestId('registry-login-row').filter({ hasText: registry });
  await expect(row).toContainText('e2e');
  await expect(row).toContainText('in use');
  await expect(form.getByLabel('Password or access token')).toHaveValue('');
  expect(await page.content()).not.toContain(secret);

  await row.getByTestId('remove-registry-login').click();
  await row.getByTestId('remove-registry-login-yes').click();
  await expect(row).toHaveCount(0);
  await expect(page.getByTestId('no-registry-logins')).toBeVisible();
});

test('a swarm service gets a badge, and its update is asked first and watched to its end', async ({ page, request }) => {
  test.setTimeout(180_000);
  const addr = process.env.BERTH_SWARM_ADDR ?? '127.0.0.1:3314';
  const base = `http://${addr}`;
  const service = `berth-e2e-svcupd-${process.pid}`;
  const reference = `127.0.0.1:${REGISTRY_PORT}/berth-e2e/service-${process.pid}:1`;
  const swarm = privateEngine('start', 'e2e-swarm');
  let berth: import('node:child_process').ChildProcess | undefined;
  try {
    if (dockerOn(swarm, 'info', '--format', '{{.Swarm.LocalNodeState}}') !== 'active') {
      dockerOn(swarm, 'swarm', 'init', '--advertise-addr', '127.0.0.1');
    }
    pushVersion(1, reference);
    references.push(reference);
    dockerOn(swarm, 'service', 'create', '--detach', '--name', service, '--label', 'berth.test=1',
      '--update-monitor', '1s', reference, 'sleep', '600');
    const newer = pushVersion(2, reference);
    docker('rmi', reference);
    berth = await startBerth(addr, [['local', LOCAL], ['swarm', swarm]]);

    await page.goto(`${base}/engines/swarm/swarm`);
    await hydrated(page);
    const row = page.locator(`tr.service-row[data-name="${service}"]`);
    await expect(row.getByTestId('replicas')).toHaveText('1/1', { timeout: 30_000 });
    await expect(row.getByTestId('update-badge')).toHaveCount(0);
    const checked = await request.post(`${base}/api/engines/swarm/updates/check`);
    expect(checked.status()).toBe(200);
    await page.reload();
    await hydrated(page);
    await expect(row.getByTestId('update-badge')).toBeVisible();

    await row.getByRole('link', { name: service }).click();
    const section = page.getByTestId('service-image-update');
    await expect(section).toContainText('update available');
    await expect(section).toContainText(`newer image ${newer.slice('sha256:'.length, 'sha256:'.length + 12)}`);
    await page.getByTestId('update').click();
    const question = page.getByRole('alertdialog');
    await expect(question).toContainText('Berth rolls the service back to its previous spec');
    await question.getByTestId('update-yes').click();
    const output = page.getByTestId('update-output');
    await expect(output.getByTestId('update-ended')).toHaveText('updated', { timeout: 120_000 });
    await expect(output).toContainText(`task ${service}.1`);
    expect(dockerOn(swarm, 'service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', service))
      .toBe(`${reference}@${newer}`);
  } finally {
    spawnSync('docker', ['-H', swarm, 'service', 'rm', service], { stdio: 'ignore' });
    berth?.kill();
    privateEngine('stop', 'e2e-swarm');
  }
});
