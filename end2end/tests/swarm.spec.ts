// Swarm in a real browser: a private engine that is a single-node swarm manager, a service
// of two replicas, a Berth of the spec's own. The swarm page lists the node and the service,
// the service page its tasks and the merged live log, where both replicas' lines arrive;
// leaving the page closes the stream on the server.
import { test, expect } from '@playwright/test';
import { ChildProcess, spawnSync } from 'node:child_process';
import { docker, LOCAL, privateEngine, startBerth } from './engines';
import { hydrated, metric } from './metrics';

const ADDR = process.env.BERTH_SWARM_ADDR ?? '127.0.0.1:3314';
const BASE = `http://${ADDR}`;
const SERVICE = 'berth-e2e-swarm';

test('a service\'s page shows its tasks and both replicas\' live lines', async ({ page }) => {
  test.setTimeout(120_000);
  const swarm = privateEngine('start', 'e2e-swarm');
  let berth: ChildProcess | undefined;
  try {
    if (docker(swarm, 'info', '--format', '{{.Swarm.LocalNodeState}}') !== 'active') {
      docker(swarm, 'swarm', 'init', '--advertise-addr', '127.0.0.1');
    }
    spawnSync('docker', ['-H', swarm, 'service', 'rm', SERVICE], { stdio: 'ignore' });
    docker(swarm, 'service', 'create', '--detach', '--name', SERVICE, '--label', 'berth.test=1', '--replicas', '2',
      'berth-test/busybox:latest', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo swarm line $i; sleep 0.3; done');
    berth = await startBerth(ADDR, [['local', LOCAL], ['swarm', swarm]]);

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

    // The local engine manages no swarm, and says so.
    await page.goto(`${BASE}/swarm`);
    await expect(page.getByTestId('no-swarm')).toBeVisible();
    await expect.poll(() => metric('berth_hubs', 'kind="service_logs"', BASE)).toBe(0);
    await expect.poll(() => metric('berth_upstream_streams', 'kind="service_logs"', BASE)).toBe(0);
  } finally {
    berth?.kill('SIGTERM');
    spawnSync('docker', ['-H', swarm, 'service', 'rm', SERVICE], { stdio: 'ignore' });
    privateEngine('stop', 'e2e-swarm');
  }
});
