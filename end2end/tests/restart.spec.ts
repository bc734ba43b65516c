// Berth restarting under an open log tab (issue 9, item 10): the server's shutdown `end`
// says "retry", so the page reconnects with backoff and lines resume without a reload, and
// none already shown is shown twice. A second berth on its own port is restarted here.
import { test, expect } from '@playwright/test';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { hydrated } from './metrics';
import { BERTH_BIN } from './engines';

const ADDR = process.env.BERTH_RESTART_ADDR ?? '127.0.0.1:3313';
const BASE = `http://${ADDR}`;

function start(): ChildProcess {
  return spawn(BERTH_BIN, ['--bind', ADDR, '--auth', 'off'], { cwd: path.resolve(__dirname, '../..'), stdio: 'ignore' });
}

async function healthy(): Promise<void> {
  await expect
    .poll(async () => (await fetch(`${BASE}/api/health`).catch(() => null))?.status, { timeout: 15_000 })
    .toBe(200);
}

async function stop(berth: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => berth.once('exit', resolve));
  berth.kill('SIGTERM');
  await exited;
}

function tickNumbers(texts: string[]): number[] {
  return texts.map((t) => Number(/tick (\d+)/.exec(t)?.[1])).filter((n) => !Number.isNaN(n));
}

test('a log tab resumes by itself after Berth restarts', async ({ page }) => {
  test.setTimeout(60_000);
  let berth = start();
  try {
    await healthy();
    await page.goto(`${BASE}/containers/berth-e2e-ticker?tab=logs`);
    await hydrated(page);
    const texts = page.locator('.log-line .log-text');
    await expect.poll(() => texts.count()).toBeGreaterThan(3);

    await stop(berth);
    await expect(page.locator('.log-note.ended')).toContainText('reconnecting');
    const before = tickNumbers(await texts.allTextContents());
    const last = Math.max(...before);

    berth = start();
    await healthy();
    // New ticks arrive on the same page: the socket came back on its own.
    await expect
      .poll(async () => Math.max(...tickNumbers(await texts.allTextContents())), { timeout: 20_000 })
      .toBeGreaterThan(last + 2);
    const after = tickNumbers(await texts.allTextContents());
    expect(new Set(after).size, 'the tail sent again is not shown twice').toBe(after.length);
    await expect(page.locator('.live-status.open')).toBeVisible();
  } finally {
    await stop(berth).catch(() => {});
  }
});
