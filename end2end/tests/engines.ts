// Shared by the several-engines specs: private engines (scripts/private-engine.sh), the
// docker CLI against one, and a Berth of the spec's own watching the engines it names.
import { expect } from '@playwright/test';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
/** The release build of the server: the static binary `make dist` ships. */
export const BERTH_BIN = path.join(ROOT, 'target/x86_64-unknown-linux-musl/dist/berth');
export const LOCAL = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
export const SHOTS = process.env.BERTH_SCREENSHOT_DIR ?? path.join(ROOT, 'target/screenshots');

/** Runs private-engine.sh; `start` answers the engine as a `unix://` URL. */
export function privateEngine(command: 'start' | 'stop', name: string): string {
  const out = execFileSync('bash', [path.join(ROOT, 'scripts/private-engine.sh'), command, name], { encoding: 'utf8' });
  return `unix://${out.trim().split('\n').pop() ?? ''}`;
}

export function docker(host: string, ...args: string[]): string {
  return execFileSync('docker', ['-H', host, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The release berth on `addr` with `--engine NAME=URL` for each; ready when it answers. */
export async function startBerth(addr: string, engines: [string, string][], extra: string[] = []): Promise<ChildProcess> {
  const args = ['--bind', addr, '--auth', 'off', '--log', 'warn', ...extra];
  for (const [name, url] of engines) args.push('--engine', `${name}=${url}`);
  const berth = spawn(BERTH_BIN, args, { cwd: ROOT, stdio: 'ignore' });
  await expect.poll(async () => (await fetch(`http://${addr}/api/health`).catch(() => null))?.status, { timeout: 10_000 }).toBe(200);
  return berth;
}

/** A release berth on `addr` that requires signing in, its database in a fresh folder of
 * its own: `setupLink()` waits for the first-admin link it logs; `stop()` ends it and
 * removes the folder. */
export async function startSigningIn(addr: string, tag: string, extra: string[] = []) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `berth-e2e-${tag}-`));
  const berth = spawn(BERTH_BIN, ['--bind', addr, '--data-dir', path.join(dataDir, 'data'), ...extra], { cwd: ROOT });
  let log = '';
  berth.stdout?.on('data', (chunk) => (log += chunk.toString()));
  berth.stderr?.on('data', (chunk) => (log += chunk.toString()));
  await expect
    .poll(async () => (await fetch(`http://${addr}/api/health`).catch(() => null))?.status, { timeout: 15_000 })
    .toBe(200);
  const link = /\/setup\?token=[0-9a-f]+/;
  return {
    setupLink: async () => {
      await expect.poll(() => link.exec(log)?.[0], { timeout: 5_000 }).toBeTruthy();
      return link.exec(log)![0];
    },
    stop: async () => {
      const exited = new Promise((resolve) => berth.once('exit', resolve));
      berth.kill('SIGTERM');
      await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
