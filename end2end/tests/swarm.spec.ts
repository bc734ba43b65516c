// Swarm in a real browser: a private engine that is a single-node swarm manager, a service
// of two replicas, a Berth of the spec's own. The swarm page lists the node and the service,
// the service page its tasks and the merged live log, where both replicas' lines arrive;
// leaving the page closes the stream on the server. Operators scale the service, change its
// image (a rolling update), drain and reactivate the node and label it, each checked with
// the CLI;
// a stack deploys on the swarm from its page (the swarm's plan, its services live), the
// stacks list follows it, and it comes down with `docker stack rm`, asked first.
import { test, expect } from '@playwright/test';
import { ChildProcess, spawnSync } from 'node:child_process';
import { docker, LOCAL, privateEngine, startBerth } from './engines';
import { hydrated, metric } from './metrics';
import { lowContrast } from './contrast';

const ADDR = process.env.BERTH_SWARM_ADDR ?? '127.0.0.1:3314';
const BASE = `http://${ADDR}`;
const SERVICE = 'berth-e2e-swarm';
const STACK = 'berth-e2e-sstack';
const STACKS_DIR = 'target/berth-test/swarm-stacks';

test('a service\'s page shows its tasks and both replicas\' live lines', async ({ page, request }) => {
  test.setTimeout(120_000);
  const swarm = privateEngine('start', 'e2e-swarm');
  let berth: ChildProcess | undefined;
  try {
    if (docker(swarm, 'info', '--format', '{{.Swarm.LocalNodeState}}') !== 'active') {
      docker(swarm, 'swarm', 'init', '--advertise-addr', '127.0.0.1');
    }
    spawnSync('docker', ['-H', swarm, 'service', 'rm', SERVICE], { stdio: 'ignore' });
    // Replicas that stop at once on SIGTERM; each new task watched 1 s (Docker's default: 5).
    docker(swarm, 'service', 'create', '--detach', '--name', SERVICE, '--label', 'berth.test=1', '--replicas', '2',
      '--update-monitor', '1s', 'berth-test/busybox:latest',
      'sh', '-c', "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo swarm line $i; sleep 0.3; done");
    docker(swarm, 'tag', 'berth-test/busybox:latest', 'berth-test/busybox:second');
    spawnSync('docker', ['-H', swarm, 'stack', 'rm', STACK], { stdio: 'ignore' });
    spawnSync('rm', ['-rf', STACKS_DIR]);
    berth = await startBerth(ADDR, [['local', LOCAL], ['swarm', swarm]], ['--stacks-dir', STACKS_DIR]);

    await page.goto(`${BASE}/engines/swarm/swarm`);
    await hydrated(page);
    await expect(page.locator('tr.node-row')).toHaveCount(1);
    const row = page.locator(`tr.service-row[data-name="${SERVICE}"]`);
    await expect(row.getByTestId('replicas')).toHaveText('2/2', { timeout: 30_000 });
    await row.getByRole('link', { name: SERVICE }).click();
    await expect(page).toHaveURL(`${BASE}/engines/swarm/services/${SERVICE}`);
    await expect(page.locator('tr.task-row')).toHaveCount(2);

    // Both replicas' lines, each marked with its task.
    for (const task of [`${SERVICE}.1`, `${SERVICE}.2`]) {
      await expect(page.locator('.log-line', { hasText: 'swarm line' }).filter({ hasText: task }).first()).toBeVisible({ timeout: 15_000 });
    }
    expect(await metric('berth_ws_clients', 'kind="service_logs",engine="swarm"', BASE)).toBe(1);
    expect(await metric('berth_hubs', 'kind="service_logs",engine="swarm"', BASE)).toBe(1);

    // Scaled 2 → 3 → 1 from the page, as the CLI counts.
    const replicas = () => docker(swarm, 'service', 'ls', '--filter', `name=${SERVICE}`, '--format', '{{.Replicas}}');
    const summary = page.getByTestId('service-summary');
    for (const n of ['3', '1']) {
      await page.getByRole('spinbutton', { name: 'Replicas' }).fill(n);
      await page.getByRole('button', { name: 'Scale' }).click();
      await expect(page.getByTestId('service-said')).toContainText(`scaled to ${n}`);
      await expect.poll(replicas, { timeout: 30_000 }).toBe(`${n}/${n}`);
      await expect(summary).toContainText(`${n}/${n} running`, { timeout: 15_000 });
    }

    // A new image: a rolling update the page follows to its end.
    await page.getByRole('textbox', { name: 'Image' }).fill('berth-test/busybox:second');
    await page.getByRole('button', { name: 'Update' }).click();
    await expect(page.getByTestId('service-said')).toContainText('updating');
    await expect(summary).toContainText('berth-test/busybox:second', { timeout: 15_000 });
    // Task by task, live: the new image's task running, the old one's shut down.
    const tasks = page.locator('tr.task-row');
    await expect(tasks.filter({ hasText: 'berth-test/busybox:second' }).filter({ hasText: 'running' })).toHaveCount(1, { timeout: 30_000 });
    await expect(tasks.filter({ hasText: 'berth-test/busybox:latest' }).filter({ hasText: 'shutdown' }).first()).toBeVisible();
    await expect(page.getByTestId('update-state')).toHaveAttribute('data-state', 'completed', { timeout: 30_000 });
    // The page follows the swarm through one hub, as every viewer would.
    expect(await metric('berth_hubs', 'kind="swarm_updates",engine="swarm"', BASE)).toBe(1);
    expect(docker(swarm, 'service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Image}}', SERVICE)).toBe('berth-test/busybox:second');

    // Drained (asked first, with how many tasks move): no task runs; active again, it does.
    await page.goto(`${BASE}/engines/swarm/swarm`);
    await hydrated(page);
    await page.getByTestId('node-availability').selectOption('drain');
    await expect(page.getByTestId('drain-confirm')).toContainText('its 1 running task(s)');
    await page.getByTestId('drain-confirm').getByRole('button', { name: 'Drain' }).click();
    await expect(page.getByTestId('swarm-said')).toContainText('is now drain');
    await expect.poll(replicas, { timeout: 30_000 }).toBe('0/1');
    await page.getByTestId('node-availability').selectOption('active');
    await expect(page.getByTestId('swarm-said')).toContainText('is now active');
    await expect.poll(replicas, { timeout: 30_000 }).toBe('1/1');

    // A node label added from the form and removed from its row, as the CLI reads them.
    const nodeLabels = () => docker(swarm, 'node', 'inspect', '--format', '{{json .Spec.Labels}}', 'self');
    await page.getByRole('textbox', { name: 'Label key' }).fill('berth-zone');
    await page.getByRole('textbox', { name: 'Label value' }).fill('e2e');
    await page.getByRole('button', { name: 'Add label' }).click();
    await expect(page.getByTestId('swarm-said')).toContainText('labelled berth-zone=e2e');
    expect(JSON.parse(nodeLabels())['berth-zone']).toBe('e2e');
    await expect(page.getByTestId('node-labels')).toContainText('berth-zone=e2e');
    await page.getByRole('button', { name: /Remove the label berth-zone/ }).click();
    await expect(page.getByTestId('swarm-said')).toContainText('has no labels now');
    expect(JSON.parse(nodeLabels())['berth-zone']).toBeUndefined();
    await expect(page.getByTestId('node-labels')).not.toContainText('berth-zone');

    // A secret made from text (its value gone from the page once made), a config from a
    // file, each removed after asking; the CLI agrees at each step.
    const secret = 'berth-e2e-secret';
    await page.getByRole('textbox', { name: 'secret name' }).fill(secret);
    await page.getByRole('textbox', { name: 'secret content' }).fill('hunter2-e2e');
    await page.getByRole('form', { name: 'New secret' }).getByRole('button', { name: 'Create' }).click();
    await expect(page.getByTestId('secret-said')).toContainText(`secret ${secret} made`);
    await expect(page.getByRole('textbox', { name: 'secret content' })).toHaveValue('');
    expect(docker(swarm, 'secret', 'ls', '--format', '{{.Name}}').split('\n')).toContain(secret);
    const secretRow = page.locator(`tr.object-row[data-name="${secret}"]`);
    await expect(secretRow).toBeVisible();
    await expect(page.locator('body')).not.toContainText('hunter2-e2e');
    await secretRow.getByRole('button', { name: 'Remove' }).click();
    await secretRow.getByRole('button', { name: 'Remove' }).click();
    await expect(secretRow).toHaveCount(0);
    expect(docker(swarm, 'secret', 'ls', '--format', '{{.Name}}').split('\n')).not.toContain(secret);
    const config = 'berth-e2e-config';
    await page.getByRole('textbox', { name: 'config name' }).fill(config);
    await page.getByLabel('config from a file').setInputFiles({ name: 'app.conf', mimeType: 'text/plain', buffer: Buffer.from('port: 8080\n') });
    await expect(page.getByRole('textbox', { name: 'config content' })).toHaveValue('port: 8080\n');
    await page.getByRole('form', { name: 'New config' }).getByRole('button', { name: 'Create' }).click();
    await expect(page.getByTestId('config-said')).toContainText(`config ${config} made`);
    expect(docker(swarm, 'config', 'inspect', '--format', '{{printf "%s" .Spec.Data}}', config)).toBe('port: 8080');
    const configRow = page.locator(`tr.object-row[data-name="${config}"]`);
    await configRow.getByRole('button', { name: 'Remove' }).click();
    await configRow.getByRole('button', { name: 'Remove' }).click();
    await expect(configRow).toHaveCount(0);

    // A stack on the swarm, deployed from its page: the swarm's plan, then its services
    // live with their replicas; down (docker stack rm) asked first, and the CLI agrees. On
    // the host's network: a second swarm on this machine (the Rust tests') may hold the
    // VXLAN id its first overlay network would take.
    const compose = "services:\n  web:\n    image: berth-test/busybox:latest\n    command: sh -c \"trap 'exit 0' TERM; while true; do sleep 1; done\"\n    networks: [outside]\n    deploy:\n      replicas: 2\nnetworks:\n  outside:\n    external: true\n    name: host\n";
    const made = await request.put(`${BASE}/api/engines/swarm/stacks/${STACK}`, { data: { compose, env: '' } });
    expect(made.status()).toBe(200);
    await page.goto(`${BASE}/engines/swarm/stacks/${STACK}`);
    await hydrated(page);
    await expect(page.locator('h1')).toContainText('swarm stack');
    await expect(page.locator('.stack-actions button[data-action="stop"]')).toHaveCount(0);
    await page.locator('.stack-actions button[data-action="deploy"]').click();
    const plan = page.getByTestId('plan');
    await expect(plan.locator('tr.plan-row[data-service="web"]')).toHaveAttribute('data-change', 'create');
    await expect(plan).toContainText('By the swarm\'s services (Docker version');
    await plan.getByTestId('plan-go').click();
    await expect(page.getByTestId('run-output').getByTestId('run-ended')).toHaveText(/exit 0/, { timeout: 60_000 });
    const stackService = page.locator(`tr.service-row[data-name="${STACK}_web"]`);
    await expect(stackService.getByTestId('replicas')).toHaveText('2/2', { timeout: 30_000 });
    await expect(page.getByTestId('stack-state')).toHaveText('running');
    await expect(page.getByTestId('live-status')).toHaveText('live');
    expect(docker(swarm, 'stack', 'services', STACK, '--format', '{{.Name}}')).toBe(`${STACK}_web`);
    await page.goto(`${BASE}/engines/swarm/swarm`);
    await expect(page.locator(`tr.service-row[data-name="${STACK}_web"]`).getByTestId('service-stack')).toHaveText(STACK);
    await page.goto(`${BASE}/engines/swarm/stacks`);
    await hydrated(page);
    const stackState = page.locator(`tr.stack-row[data-name="${STACK}"]`).getByTestId('stack-state');
    await expect(stackState).toHaveText('running');
    // The list follows the swarm: a scale made with the CLI shows without a reload.
    docker(swarm, 'service', 'scale', '-d', `${STACK}_web=0`);
    await expect(stackState).toHaveText('stopped', { timeout: 30_000 });
    docker(swarm, 'service', 'scale', '-d', `${STACK}_web=2`);
    await expect(stackState).toHaveText('running', { timeout: 30_000 });

    // Both pages with their controls: legible in both themes, no sideways scroll at 375 px.
    for (const path of [`/engines/swarm/services/${SERVICE}`, '/engines/swarm/swarm', `/engines/swarm/stacks/${STACK}`]) {
      for (const theme of ['light', 'dark']) {
        await page.context().addCookies([{ name: 'berth_theme', value: theme, url: BASE }]);
        await page.goto(`${BASE}${path}`);
        await hydrated(page);
        expect(await lowContrast(page), `${theme} ${path}`).toEqual([]);
      }
      await page.setViewportSize({ width: 375, height: 800 });
      await page.goto(`${BASE}${path}`);
      await hydrated(page);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(375);
      await page.setViewportSize({ width: 1280, height: 720 });
    }

    await page.goto(`${BASE}/engines/swarm/stacks/${STACK}`);
    await hydrated(page);
    await page.locator('.stack-actions button[data-action="down"]').click();
    await expect(page.getByTestId('down-confirm')).toContainText('docker stack rm');
    await page.getByTestId('down-confirm').getByRole('button', { name: 'Down' }).click();
    await expect(page.getByTestId('run-output').getByTestId('run-ended')).toHaveText(/exit 0/, { timeout: 60_000 });
    await expect(page.getByTestId('stack-state')).toHaveText('not deployed', { timeout: 15_000 });
    expect(spawnSync('docker', ['-H', swarm, 'stack', 'services', STACK, '--format', '{{.Name}}']).stdout.toString().trim()).toBe('');

    // The local engine manages no swarm, and says so.
    await page.goto(`${BASE}/swarm`);
    await expect(page.getByTestId('no-swarm')).toBeVisible();
    await expect.poll(() => metric('berth_hubs', 'kind="service_logs"', BASE)).toBe(0);
    await expect.poll(() => metric('berth_upstream_streams', 'kind="service_logs"', BASE)).toBe(0);
    await expect.poll(() => metric('berth_hubs', 'kind="swarm_updates"', BASE)).toBe(0);
  } finally {
    berth?.kill('SIGTERM');
    spawnSync('docker', ['-H', swarm, 'service', 'rm', SERVICE], { stdio: 'ignore' });
    spawnSync('docker', ['-H', swarm, 'secret', 'rm', 'berth-e2e-secret'], { stdio: 'ignore' });
    spawnSync('docker', ['-H', swarm, 'config', 'rm', 'berth-e2e-config'], { stdio: 'ignore' });
    spawnSync('docker', ['-H', swarm, 'stack', 'rm', STACK], { stdio: 'ignore' });
    spawnSync('rm', ['-rf', STACKS_DIR]);
    privateEngine('stop', 'e2e-swarm');
  }
});
