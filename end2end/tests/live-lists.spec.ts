// Lists that update themselves (issue 12): a container stopped from the command line changes
// its badge on an open list without a reload, the dashboard's counts and a project page
// follow, and a hundred start/stop cycles with the list open cost one Docker event stream,
// gone once the page closes. BERTH_LIST_CYCLES=1000 is the leak check of BENCHMARKS.md.
import { test, expect, Page } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import * as http from 'node:http';
import { expectServerIdle, hydrated, metric } from './metrics';

const NAME = 'berth-e2e-listed';
const PROJECT = 'berth-e2e-listed-project';
const ENGINE_SOCKET = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');
const EVENTS = 'kind="events",engine="local"';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A container that ends on SIGTERM at once, so a stop takes no 10 s. */
function run(name: string, ...labels: string[]): void {
  spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  docker('run', '-d', '--network', 'none', '--label', 'berth.test=1', ...labels.flatMap((l) => ['--label', l]),
    '--name', name, 'berth-test/busybox:latest', 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done');
}

/** One call to the engine's API over its socket: quicker than the CLI for many cycles. */
function engine(method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath: ENGINE_SOCKET, method, path }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

/** The container list, hydrated and following its stream. */
async function openList(page: Page): Promise<void> {
  await page.goto('/containers');
  await hydrated(page);
  await expect(page.getByTestId('list-status')).toHaveText('live');
}

const badge = (page: Page, name: string) => page.locator(`tr[data-name="${name}"] .state`);

test.beforeEach(async () => {
  run(NAME);
  await expectServerIdle();
});
test.afterAll(() => {
  for (const name of [NAME, `${PROJECT}-a`, `${PROJECT}-b`]) spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
});

test('a container stopped from the CLI changes its badge on the open list, no reload', async ({ page }) => {
  await openList(page);
  await expect(badge(page, NAME)).toHaveText('running');
  // A mark in the document: a reload would lose it.
  await page.evaluate(() => ((window as unknown as { berthMark: number }).berthMark = 42));
  const asked = Date.now();
  docker('stop', NAME);
  await expect(badge(page, NAME)).toHaveText('exited');
  console.log(`docker stop shown on the list ${Date.now() - asked} ms after the CLI was asked (the CLI's own time included)`);
  docker('start', NAME);
  await expect(badge(page, NAME)).toHaveText('running');
  // Removed: its row goes; created: a row comes.
  docker('rm', '-f', NAME);
  await expect(page.locator(`tr[data-name="${NAME}"]`)).toHaveCount(0);
  run(NAME);
  await expect(badge(page, NAME)).toHaveText('running');
  expect(await page.evaluate(() => (window as unknown as { berthMark?: number }).berthMark)).toBe(42);
  await page.close();
  await expectServerIdle();
});

test("an engine's counts and a project's members follow the CLI", async ({ page }) => {
  await page.goto('/engines/local');
  await hydrated(page);
  const total = page.getByTestId('containers-total');
  const before = Number(await total.textContent());
  run(`${PROJECT}-a`, `com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=a');
  await expect(total).toHaveText(String(before + 1));
  spawnSync('docker', ['rm', '-f', `${PROJECT}-a`], { stdio: 'ignore' });
  await expect(total).toHaveText(String(before));

  run(`${PROJECT}-a`, `com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=a');
  await page.goto(`/projects/${PROJECT}`);
  await hydrated(page);
  await expect(page.getByTestId('project-states')).toContainText('1 running');
  // A member that starts later appears; one stopped from the CLI shows it.
  run(`${PROJECT}-b`, `com.docker.compose.project=${PROJECT}`, 'com.docker.compose.service=b');
  await expect(page.locator('tr.member-row')).toHaveCount(2);
  docker('stop', `${PROJECT}-a`);
  await expect(page.getByTestId('project-states')).toContainText('1 exited');
  await expect(page.getByTestId('project-states')).toContainText('1 running');
  await page.close();
  await expectServerIdle();
});

test('start/stop cycles with the list open: one event stream, none once the page closes', async ({ page }) => {
  const cycles = Number(process.env.BERTH_LIST_CYCLES ?? 100);
  test.setTimeout(60_000 + cycles * 1_000);
  await openList(page);
  await expect(badge(page, NAME)).toHaveText('running');
  const rss = async () => (await metric('process_resident_memory_bytes')) / 1024 / 1024;
  const started = await rss();
  const samples: string[] = [];
  for (let i = 1; i <= cycles; i++) {
    expect(await engine('POST', `/containers/${NAME}/stop?t=0`)).toBeLessThan(400);
    expect(await engine('POST', `/containers/${NAME}/start`)).toBeLessThan(400);
    if (i % Math.max(1, Math.floor(cycles / 4)) === 0) samples.push(`${i}: ${(await rss()).toFixed(1)} MB`);
  }
  console.log(`berth RSS with the list open: start ${started.toFixed(1)} MB, after cycles ${samples.join(', ')}`);
  // Still one Docker event stream, one list hub, one socket: and the list is right.
  expect(await metric('berth_upstream_streams', EVENTS)).toBe(1);
  expect(await metric('berth_hubs', 'kind="container_list"')).toBe(1);
  expect(await metric('berth_ws_clients', 'kind="container_list"')).toBe(1);
  await expect(badge(page, NAME)).toHaveText('running');
  docker('stop', NAME);
  await expect(badge(page, NAME)).toHaveText('exited');
  await page.close();
  await expect.poll(() => metric('berth_upstream_streams', EVENTS)).toBe(0);
  await expectServerIdle();
});
