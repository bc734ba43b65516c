// Shared by the specs: Berth's live counts from /metrics (compared with the browser's sockets),
// the page's sockets, and waiting for hydration.
import { expect, Page, WebSocket } from '@playwright/test';

export const BASE = process.env.BERTH_URL ?? 'http://127.0.0.1:3000';

export async function metric(name: string, label?: string): Promise<number> {
  const text = await (await fetch(`${BASE}/metrics`)).text();
  const series = label ? `${name}{${label}}` : name;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

export const KINDS = ['container_logs', 'container_stats', 'project_logs', 'system_stats'];

export async function clients(kind: string): Promise<number> {
  return metric('berth_ws_clients', `kind="${kind}"`);
}

/** Waits until the server holds no socket and no hub of any kind. */
export async function expectServerIdle(timeout = 3_000): Promise<void> {
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
