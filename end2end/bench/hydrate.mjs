// For `make bench` (figure 8): loads a page in the system Chromium N times and prints, as
// JSON, the time to first byte and the time until Berth marks the page hydrated, in ms from
// the start of navigation. Usage: node end2end/bench/hydrate.mjs URL N
import { chromium } from '@playwright/test';

const [url, runs = '5'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const result = { ttfb: [], hydrated: [] };
try {
  for (let i = 0; i < Number(runs); i++) {
    // A fresh context each time: nothing cached, like a first visit.
    const context = await browser.newContext();
    const page = await context.newPage();
    // Stamp the moment the app flips data-hydrated, without polling.
    await page.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.querySelector('[data-hydrated="true"]')) {
          window.__hydratedAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
    });
    await page.goto(url);
    await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 30_000 });
    const t = await page.evaluate(() => ({
      ttfb: performance.getEntriesByType('navigation')[0].responseStart,
      hydrated: window.__hydratedAt,
    }));
    result.ttfb.push(t.ttfb);
    result.hydrated.push(t.hydrated);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
