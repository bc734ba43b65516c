// The Terminal tab (issue 15) on a container of the spec's own: a shell answers, a smaller
// window changes `stty size`, and however the terminal goes (tab closed, tab left, the page
// closed, 40 times over) no process of it is left in the container and Berth's terminal
// counts are back to 0. A stopped container's refusal is shown as Berth words it.
import { test, expect, Page } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hydrated, metric, trackSockets } from './metrics';

const NAME = 'berth-e2e-term';
const STOPPED = 'berth-e2e-term-stopped';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The container's live processes (zombies aside), as `pid args` lines. */
function processes(): string[] {
  return docker('top', NAME, '-o', 'pid,args')
    .split('\n')
    .slice(1)
    .filter((line) => !line.includes('<defunct>'))
    .map((line) => line.trim());
}

let baseline: string[] = [];

test.beforeAll(() => {
  for (const name of [NAME, STOPPED]) spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  // With an init: what a test leaves orphaned is reaped rather than kept as a zombie.
  docker('run', '-d', '--init', '--network', 'none', '--label', 'berth.test=1', '--name', NAME, 'berth-test/busybox:latest', 'sleep', '3600');
  docker('create', '--network', 'none', '--label', 'berth.test=1', '--name', STOPPED, 'berth-test/busybox:latest', 'sleep', '3600');
  baseline = processes();
});

test.afterAll(() => {
  for (const name of [NAME, STOPPED]) spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
});

async function terminalCountsAreZero(timeout = 5_000): Promise<void> {
  await expect.poll(() => metric('berth_terminals_open'), { timeout }).toBe(0);
  await expect.poll(() => metric('berth_exec_processes_alive'), { timeout }).toBe(0);
}

/** Opens the Terminal tab and connects with the defaults (/bin/sh). */
async function connect(page: Page, name = NAME): Promise<void> {
  await page.goto(`/containers/${name}?tab=terminal`);
  await hydrated(page);
  await page.getByTestId('terminal-connect').click();
}

/** Connected, and the shell's prompt is up: busybox's shell discards what was typed
 * before it set its TTY up, as any shell may. */
async function connected(page: Page): Promise<void> {
  await expect(page.getByTestId('terminal-status')).toHaveText('connected');
  await expect.poll(async () => (await screen(page)).some((l) => l.trim().endsWith('#'))).toBe(true);
}

/** Lines of the terminal's screen. */
async function screen(page: Page): Promise<string[]> {
  return page.locator('.xterm-rows > div').allTextContents();
}

/** Types a command line into the terminal. */
async function type(page: Page, line: string): Promise<void> {
  await page.locator('.xterm').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/** The last `rows cols` line `stty size` printed. */
async function sttySize(page: Page, previous?: string): Promise<string> {
  await type(page, 'stty size');
  let size = '';
  await expect
    .poll(async () => {
      const sizes = (await screen(page)).map((l) => l.trim()).filter((l) => /^\d+ \d+$/.test(l));
      size = sizes[sizes.length - 1] ?? '';
      return size !== '' && size !== previous;
    })
    .toBe(true);
  return size;
}

test('a shell answers, follows the window size, and leaves nothing when the tab closes', async ({ page }) => {
  const sockets = trackSockets(page);
  await page.setViewportSize({ width: 1280, height: 860 });
  await connect(page);
  await connected(page);
  await type(page, 'echo $((6*7))');
  await expect.poll(async () => (await screen(page)).some((l) => l.trim() === '42')).toBe(true);
  // One terminal socket in the page, one in Berth's counts.
  expect(sockets.open().filter((ws) => ws.url().includes('/exec')).length).toBe(1);
  expect(await metric('berth_terminals_open')).toBe(1);
  expect(await metric('berth_exec_processes_alive')).toBe(1);

  const before = await sttySize(page);
  await page.setViewportSize({ width: 800, height: 500 });
  const after = await sttySize(page, before);
  const [rowsBefore, colsBefore] = before.split(' ').map(Number);
  const [rowsAfter, colsAfter] = after.split(' ').map(Number);
  expect(rowsAfter).toBeLessThan(rowsBefore);
  expect(colsAfter).toBeLessThan(colsBefore);

  if (process.env.BERTH_SCREENSHOT_DIR) {
    await page.setViewportSize({ width: 1280, height: 860 });
    await type(page, 'ls -l /bin | head -n 12; echo; stty size');
    await page.waitForTimeout(500);
    mkdirSync(process.env.BERTH_SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(resolve(process.env.BERTH_SCREENSHOT_DIR), 'terminal.png') });
  }

  await page.close();
  await expect.poll(processes, { timeout: 2_000 }).toEqual(baseline);
  await terminalCountsAreZero();
});

test('exit shows the code, and a stopped container is refused in Berth’s words', async ({ page }) => {
  await connect(page);
  await connected(page);
  await type(page, 'exit 5');
  await expect(page.getByTestId('terminal-status')).toHaveText('process exited with code 5');
  await expect(page.getByTestId('terminal-connect')).toBeVisible();
  await terminalCountsAreZero();

  await connect(page, STOPPED);
  await expect(page.getByTestId('terminal-status')).toContainText('a terminal needs it running');
  expect(await metric('berth_terminals_open')).toBe(0);
});

test('40 terminals opened and left by every way a browser leaves leave no process', async ({ page, context }) => {
  test.setTimeout(120_000);
  const opened = await metric('berth_terminals_opened_total');
  for (let i = 0; i < 20; i++) {
    // Left for another tab of the page: the component's cleanup closes the socket.
    await connect(page);
    await connected(page);
    await page.getByTestId('tab-overview').click();
    await expect(page.getByTestId('terminal')).toHaveCount(0);
    // The page closed with the terminal open.
    const other = await context.newPage();
    await connect(other);
    await connected(other);
    await other.close();
  }
  expect(await metric('berth_terminals_opened_total')).toBe(opened + 40);
  await terminalCountsAreZero(10_000);
  await expect.poll(processes, { timeout: 5_000 }).toEqual(baseline);
});
