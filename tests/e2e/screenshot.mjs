#!/usr/bin/env node
// Renders the README screenshot (docs/screenshot.png) from the real server and client: the demo dataset coloured
// by bulk_labels, a lasso selection stored as set 1 and compared with the rest. Not a CTest test.
// Usage: CELLGATE=build/cellgate node tests/e2e/screenshot.mjs [OUT.png]
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, serveClient, startServer } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const src = resolve(process.env.CG_SOURCE_DIR || join(here, '../..'));
const out = process.argv[2] || join(src, 'docs/screenshot.png');
const tmp = process.env.CG_TMPDIR || '/tmp/cellgate-shot';
mkdirSync(tmp, { recursive: true });
const watchdog = setTimeout(() => { console.error('timed out'); process.exit(1); }, 120_000);
const data = join(tmp, 'pbmc68k_reduced.h5ad'); // named copy: the server titles the dataset by file name
copyFileSync(join(src, 'data/pbmc68k_reduced.h5ad'), data);

const [server, base] = await startServer(process.env.CELLGATE || join(src, 'build/cellgate'), data, tmp,
                                         ['--title', 'pbmc68k_reduced']);
const browser = await launch(src, process.env.CHROMIUM || '/usr/bin/chromium');
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 860 }, deviceScaleFactor: 1 });
  await serveClient(page, base, join(src, 'web/dist'));
  await page.goto(base);
  await page.waitForFunction(() => window.__cellgate);
  await page.evaluate(() => window.__cellgate.ready());
  for (const g of ['MS4A1', 'CD79A']) {
    await page.fill('[data-testid=gene-input]', g);
    await page.press('[data-testid=gene-input]', 'Enter');
    await page.waitForFunction((n) => window.__cellgate.colorBy().name === n, g);
  }
  await page.click('[data-testid=color-by-bulk_labels]');
  await page.click('[data-testid=tool-lasso]');
  const box = await page.locator('[data-testid=scatter]').boundingBox();
  const pts = [[0.40, 0.56], [0.50, 0.55], [0.52, 0.66], [0.49, 0.86], [0.40, 0.88], [0.33, 0.74]];
  await page.mouse.move(box.x + pts[0][0] * box.width, box.y + pts[0][1] * box.height);
  await page.mouse.down();
  for (let k = 1; k <= pts.length; k++) {
    const [a, b] = pts[(k - 1) % pts.length], [c, d] = pts[k % pts.length];
    for (let t = 1; t <= 8; t++) {
      await page.mouse.move(box.x + (a + (c - a) * t / 8) * box.width, box.y + (b + (d - b) * t / 8) * box.height);
    }
  }
  await page.mouse.up();
  await page.click('.slot1 button');
  await page.click('[data-testid=compare]');
  await page.waitForSelector('[data-testid=de-results], [data-testid=de-message]');
  await page.mouse.move(box.x + box.width - 5, box.y + 5);
  await page.screenshot({ path: out });
  console.log('wrote', out, 'selected', await page.evaluate(() => window.__cellgate.selected()));
} finally {
  await browser.close();
  server.kill('SIGTERM');
  clearTimeout(watchdog);
}
