#!/usr/bin/env node
// Measures the web client in headless chromium (SwiftShader: a CPU rasteriser, so frame times are an upper
// bound of what a GPU does) on a dataset: navigation → first drawn frame, colour by a gene, lasso, frame time.
// Not a CTest test. Usage: CELLGATE=build/cellgate node tests/e2e/perf_explorer.mjs DATA.cgb GENE
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { launch, serveClient, startServer } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const src = resolve(process.env.CG_SOURCE_DIR || join(here, '../..'));
const cellgate = process.env.CELLGATE || join(src, 'build/cellgate');
const [data, gene] = process.argv.slice(2);
const tmp = process.env.CG_TMPDIR || '/tmp/cellgate-perf';
mkdirSync(tmp, { recursive: true });
const watchdog = setTimeout(() => { console.error('timed out'); process.exit(1); }, 300_000);

const [server, base] = await startServer(cellgate, data, tmp);
const browser = await launch(src, process.env.CHROMIUM || '/usr/bin/chromium');
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 860 } });
  await serveClient(page, base, join(src, 'web/dist'));
  let bytes = 0;
  page.on('response', async (r) => { try { bytes += Number(r.headers()['content-length'] || 0); } catch { /* */ } });
  const t0 = Date.now();
  await page.goto(base);
  await page.waitForFunction(() => window.__cellgate && (window.__cellgate.readback()?.drawn ?? 0) > 0, null,
                             { timeout: 120_000, polling: 50 });
  const first = Date.now() - t0;
  const info = await page.evaluate(() => window.__cellgate.ready());
  const loaded = Date.now() - t0;
  const frame = await page.evaluate(() => window.__cellgate.timeFrames(10));
  const t1 = Date.now();
  await page.fill('[data-testid=gene-input]', gene);
  await page.press('[data-testid=gene-input]', 'Enter');
  await page.waitForFunction(() => window.__cellgate.colorBy().kind === 'gene', null, { timeout: 60_000, polling: 20 });
  const geneMs = Date.now() - t1;
  await page.click('[data-testid=tool-lasso]');
  const box = await page.locator('[data-testid=scatter]').boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2, r = Math.min(box.width, box.height) * 0.3;
  await page.mouse.move(cx + r, cy);
  await page.mouse.down();
  for (let k = 1; k <= 64; k++) await page.mouse.move(cx + r * Math.cos(k * Math.PI / 32), cy + r * Math.sin(k * Math.PI / 32));
  const t2 = Date.now();
  await page.mouse.up();
  await page.waitForFunction(() => window.__cellgate.selected() > 0, null, { timeout: 60_000, polling: 10 });
  const lassoMs = Date.now() - t2;
  const sel = await page.evaluate(() => window.__cellgate.selected());
  const inPage = await page.evaluate(() => window.__cellgate.timings());
  console.log(JSON.stringify({ cells: info.nObs, firstFrameMs: first, allLoadedMs: loaded, frameMs: +frame.toFixed(1),
                               colorByGeneMs: geneMs, lassoMs, lassoComputeMs: +inPage.lasso.toFixed(1), paintMs: +inPage.paint.toFixed(1), lassoSelected: sel, bytesWithLength: bytes }));
  if (process.env.CG_PERF_SHOT) await page.screenshot({ path: process.env.CG_PERF_SHOT });
} finally {
  await browser.close();
  server.kill('SIGTERM');
  clearTimeout(watchdog);
}
