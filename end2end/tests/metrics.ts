// Shared by the specs: Berth's live counts from /metrics (compared with the browser's sockets),
// the page's sockets, and waiting for hydration.
import { expect, Page, WebSocket } from '@playwright/test';

export const BASE = process.env.BERTH_URL ?? 'http://127.0.0.1:3000';

/** The sum of `name`'s series that carry every `key="value"` of `labels` (comma-separated):
 * `kind="container_logs"` counts every engine's, `kind="…",engine="edge"` one engine's. */
export async function metric(name: string, labels?: string, base = BASE): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const wanted = labels ? labels.split(',') : [];
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space);
    const brace = series.indexOf('{');
    const seriesName = brace < 0 ? series : series.slice(0, brace);
    const has = brace < 0 ? [] : series.slice(brace + 1, -1).split(',');
    if (seriesName === name && wanted.every((w) => has.includes(w))) {
      found = true;
      sum += Number(line.slice(space + 1));
    }
  }
  if (!found) throw new Error(`no ${name} {${labels ?? ''}} in /metrics`);
  return sum;
}

export const KINDS = ['container_logs', 'container_stats', 'project_logs', 'service_logs', 'system_stats', 'container_list', 'events', 'stack_run', 'update_run', 'swarm_updates'];

export async function clients(kind: string): Promise<number> {
  return metric('berth_ws_clients', `kind="${kind}"`);
}

/** Waits until the server holds no socket and no hub of any kind (the test server keeps a
 * list the API read for 1 s: `--list-cache-secs 1` in scripts/test.sh). */
export async function expectServerIdle(timeout = 5_000): Promise<void> {
  for (const kind of KINDS) {
    await expect.poll(() => clients(kind), { timeout }).toBe(0);
    await expect.poll(() => metric('berth_hubs', `kind="${kind}"`), { timeout }).toBe(0);
  }
}

/** Tracks the page's WebSockets; `open()` lists those not closed yet. */
export function trackSockets(page: Page): { all: WebSocket[]; open: () => WebSocket[] } {
  const all: WebSocket[] = [];
  page.on('websocket', (ws) => all.push(ws));
  return { all, open: () => all.filter((ws) => !ws.isClosed()) };
}

/** Waits until the app has hydrated (it sets `data-hydrated="true"` once the Wasm runs). */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator('[data-hydrated="true"]')).toHaveCount(1);
}
