// For `make bench` (figure 10): opens a container's log viewer in the system Chromium, lets
// the container print (it waits for /go), and while it prints clicks Pause and Resume. Prints,
// as JSON: the longest main-thread task and how many took over 50 ms (PerformanceObserver
// `longtask`), how long each click took to change the button (from the input event to the
// DOM change), and the viewer's own counts of lines received, missed and dropped.
// Usage: node end2end/bench/torrent.mjs BASE_URL CONTAINER SECONDS
import { chromium } from '@playwright/test';
import { execFileSync } from 'node:child_process';

const [base, container, seconds = '10'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    window.__tasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__tasks.push(entry.duration);
    }).observe({ type: 'longtask', buffered: true });
    // A click's cost: from its input event to the button's new label.
    window.__clicks = [];
    document.addEventListener('click', (event) => {
      const button = event.target.closest?.('[data-testid="log-pause"]');
      if (!button) return;
      const before = button.textContent;
      const observer = new MutationObserver(() => {
        if (button.textContent !== before) {
          window.__clicks.push(performance.now() - event.timeStamp);
          observer.disconnect();
        }
      });
      observer.observe(button, { childList: true, characterData: true, subtree: true });
    }, true);
  });
  await page.goto(`${base}/containers/${container}?tab=logs`);
  await page.waitForSelector('[data-hydrated="true"]');
  await page.getByTestId('log-status').filter({ hasText: 'live' }).waitFor();
  // Long tasks of loading the page are not the stream's.
  await page.evaluate(() => { window.__tasks = []; });
  execFileSync('docker', ['exec', container, 'sh', '-c', 'echo > /go']);
  const pause = page.getByTestId('log-pause');
  const third = (Number(seconds) * 1000) / 3;
  await page.waitForTimeout(third);
  await pause.click();
  await page.waitForTimeout(third);
  await pause.click();
  await page.waitForTimeout(third + 3000);
  const result = await page.evaluate(() => {
    const count = document.querySelector('[data-testid="log-count"]');
    const read = (name) => Number(count.getAttribute(`data-${name}`));
    return {
      longest_task_ms: Math.max(0, ...window.__tasks),
      long_tasks: window.__tasks.length,
      clicks_ms: window.__clicks,
      received: read('received'),
      lagged: read('lagged'),
      dropped: read('dropped'),
      rows: document.querySelectorAll('.log-line').length,
    };
  });
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
