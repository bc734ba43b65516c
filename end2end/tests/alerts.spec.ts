// Alerts (issue 30): on /alerts a webhook channel is added (its URL never shown again) and
// its Test button sends a real message to a receiver on loopback (an HTTP server of the
// spec's own) and shows what it answered; a rule is written while its live preview says
// which containers the selection matches now (and why an expression does not compile);
// a container it watches is killed, and the alert shows in the history, delivered.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hydrated } from './metrics';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

test('a channel is tested, a rule written with its preview, and an alert shows in the history', async ({
  page,
  request,
}) => {
  test.setTimeout(90_000);
  const received: string[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push(body);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('thanks');
    });
  });
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  const port = (receiver.address() as AddressInfo).port;
  const container = `berth-e2e-alert-${process.pid}`;
  const channel = `hook-${process.pid}`;
  const rule = `exits ${process.pid}`;
  try {
    await page.goto('/alerts');
    await hydrated(page);
    await expect(page.getByTestId('alert-channel-form')).toBeVisible();

    const channelForm = page.getByTestId('alert-channel-form');
    await channelForm.getByLabel('Name').fill(channel);
    await channelForm.getByLabel(/^URL/).fill(`http://127.0.0.1:${port}/hook/s3cret-t0ken`);
    await channelForm.getByRole('button', { name: 'Add channel' }).click();
    const row = page.getByTestId('alert-channel-row').filter({ hasText: channel });
    await expect(row).toContainText(`http://127.0.0.1:${port}/…`);
    expect(await page.content()).not.toContain('s3cret');
    await row.getByTestId('test-channel').click();
    await expect(page.getByText('test delivered: 200 thanks')).toBeVisible();
    expect(received.some((body) => body.includes('Berth: a test message'))).toBeTruthy();

    docker(
      'run', '-d', '--network', 'none', '--label', 'berth.test=1', '--name', container,
      'berth-test/busybox:latest', 'sleep', '600',
    );
    const ruleForm = page.getByTestId('alert-rule-form');
    const preview = page.getByTestId('rule-preview');
    await ruleForm.getByLabel('Name', { exact: true }).fill(rule);
    await ruleForm.getByTestId('rule-names').fill(container);
    await expect(preview).toContainText(`Matches 1 now: local/${container}`);
    await ruleForm.getByTestId('rule-expression').fill('nmae == 1');
    await expect(preview).toContainText('"nmae"');
    await ruleForm.getByTestId('rule-expression').fill("state == 'exited'");
    await expect(preview).toContainText('Matches 0 now');
    await ruleForm.getByTestId('rule-expression').fill('');
    await expect(preview).toContainText(`Matches 1 now: local/${container}`);
    await ruleForm.getByLabel(channel, { exact: true }).check();
    await ruleForm.getByRole('button', { name: 'Add rule' }).click();
    const ruleRow = page.getByTestId('alert-rule-row').filter({ hasText: rule });
    await expect(ruleRow).toContainText(channel);
    await expect(ruleRow).toContainText(`name ${container}`);

    // Killed: exit code 137, not in the list of codes that are fine.
    docker('kill', container);
    const alert = page.getByTestId('alert-row').filter({ hasText: container });
    await expect(alert).toContainText('exited with code 137', { timeout: 15_000 });
    await expect(alert).toContainText(`${channel}: delivered`);
    expect(received.some((body) => body.includes(container))).toBeTruthy();
  } finally {
    try {
      docker('rm', '-f', container);
    } catch {
      // never made
    }
    const rules = await (await request.get('/api/alerts/rules')).json();
    for (const r of rules.filter((r: { name: string }) => r.name === rule)) {
      await request.delete(`/api/alerts/rules/${r.id}`);
    }
    const channels = await (await request.get('/api/alerts/channels')).json();
    for (const c of channels.filter((c: { name: string }) => c.name === channel)) {
      await request.delete(`/api/alerts/channels/${c.id}`);
    }
    receiver.close();
  }
});

test('a rule is turned off and muted, and an engine muted and lifted, from the page', async ({ page, request }) => {
  const rule = `switched ${process.pid}`;
  const made = await request.post('/api/alerts/rules', {
    data: { name: rule, when: { on: 'exit' }, select: { names: ['nothing-here-*'] } },
  });
  expect(made.status()).toBe(201);
  try {
    await page.goto('/alerts');
    await hydrated(page);
    const row = page.getByTestId('alert-rule-row').filter({ hasText: rule });
    const state = row.getByTestId('alert-rule-state');
    await expect(state).toHaveText('on');
    await row.getByTestId('switch-alert-rule').click();
    await expect(row.getByTestId('switch-alert-rule')).toHaveText('Turn on');
    await expect(state).toHaveText('off');
    await row.getByTestId('switch-alert-rule').click();
    // Each change writes the rule back whole: the next waits for the first to be shown.
    await expect(row.getByTestId('switch-alert-rule')).toHaveText('Turn off');
    await row.getByTestId('mute-alert-rule').click();
    await expect(state).toContainText('muted until');
    await expect(row.getByTestId('mute-alert-rule')).toHaveText('Unmute');
    const kept = (await (await request.get('/api/alerts/rules')).json()).find((r: { name: string }) => r.name === rule);
    expect(kept.enabled).toBe(true);
    expect(kept.mute.until_ms).toBeGreaterThan(Date.now());

    // Edited whole, as JSON: the server checks it, and says why when it cannot run it.
    await row.getByTestId('edit-alert-rule').click();
    const json = page.getByTestId('alert-rule-json');
    const written = await json.inputValue();
    expect(written).toContain('"cooldown_secs": 300');
    await json.fill(written.replace('"expression": null', '"expression": "nmae == 1"'));
    await page.getByTestId('save-alert-rule').click();
    await expect(page.getByRole('alert').filter({ hasText: '"nmae"' })).toBeVisible();
    await json.fill(written.replace('"cooldown_secs": 300', '"cooldown_secs": 42'));
    await page.getByTestId('save-alert-rule').click();
    await expect(row).toContainText('42 s');

    const engine = page.getByTestId('engine-mute-row').filter({ hasText: 'local' });
    await expect(engine.getByTestId('engine-mute-state')).toHaveText('alerting');
    await page.getByTestId('engine-mute-minutes').fill('30');
    await engine.getByTestId('mute-engine').click();
    await expect(engine.getByTestId('engine-mute-state')).toContainText('muted until');
    const mutes = await (await request.get('/api/alerts/mutes')).json();
    expect(mutes.find((m: { engine: string }) => m.engine === 'local').until_ms).toBeGreaterThan(Date.now() + 25 * 60_000);
    await engine.getByTestId('unmute-engine').click();
    await expect(engine.getByTestId('engine-mute-state')).toHaveText('alerting');
  } finally {
    await request.delete('/api/alerts/mutes/local');
    const rules = await (await request.get('/api/alerts/rules')).json();
    for (const r of rules.filter((r: { name: string }) => r.name === rule)) {
      await request.delete(`/api/alerts/rules/${r.id}`);
    }
  }
});
