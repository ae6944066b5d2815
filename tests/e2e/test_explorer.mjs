#!/usr/bin/env node
// End-to-end test of the Explorer web client: the real `cellgate explorer` on the demo dataset, the built client
// (web/dist), Debian's chromium driven by playwright-core. Loopback only; every wait is bounded.
//
// Env: CELLGATE (binary; default build/cellgate), CG_SOURCE_DIR (repo; default ../..), CG_E2E_DATA (an .h5ad or
// .cgb; default data/pbmc68k_reduced.h5ad), CG_BUILD_DIR (screenshots go to $CG_BUILD_DIR/e2e; default build),
// CG_TMPDIR (scratch), CHROMIUM (default /usr/bin/chromium).
//
// Until the server serves the client itself, the test serves web/dist for non-API paths of the server's origin
// by request interception (same origin, so API calls go to the real server unchanged).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { launch, serveClient, startServer } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const src = resolve(process.env.CG_SOURCE_DIR || join(here, '../..'));
const cellgate = process.env.CELLGATE || join(src, 'build/cellgate');
const data = process.env.CG_E2E_DATA || join(src, 'data/pbmc68k_reduced.h5ad');
const outDir = join(process.env.CG_BUILD_DIR || join(src, 'build'), 'e2e');
const tmp = process.env.CG_TMPDIR || join(outDir, 'tmp');
const dist = join(src, 'web/dist');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

const watchdog = setTimeout(() => { console.error('FAIL: e2e test timed out'); process.exit(1); }, 180_000);
const log = (...a) => console.log('[e2e]', ...a);

for (const [what, p] of [['cellgate binary', cellgate], ['built client (npm run build in web/)', join(dist, 'index.html')],
                         ['dataset', data], ['chromium', chromiumPath]]) {
  if (!existsSync(p)) { console.error(`FAIL: missing ${what}: ${p}`); process.exit(1); }
}
mkdirSync(outDir, { recursive: true });
mkdirSync(tmp, { recursive: true });

async function main() {
  const [server, base] = await startServer(cellgate, data, tmp);
  log('server at', base);
  let browser;
  try {
    browser = await launch(src, chromiumPath);
    const page = await browser.newPage({ viewport: { width: 1440, height: 860 }, deviceScaleFactor: 1 });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      // the browser logs every non-2xx response; a 501 from diffexp is an expected answer, checked below
      if (m.type() === 'error' && !/status of 501/.test(m.text())) errors.push(m.text());
    });
    const servesClient = await serveClient(page, base, dist);
    log(servesClient ? 'server serves the client itself' : 'serving web/dist by interception (server has no static route)');
    page.setDefaultTimeout(20_000);

    const t0 = Date.now();
    await page.goto(base);
    await page.waitForFunction(() => window.__cellgate);
    const ready = await page.evaluate(() => window.__cellgate.ready());
    assert.equal(ready.fatal, null, 'page reports an error: ' + ready.fatal);
    assert.equal(ready.nObs, 700);
    await page.waitForFunction(() => (window.__cellgate.readback()?.drawn ?? 0) > 0);
    log(`loaded and drawn in ${Date.now() - t0} ms`);
    const title = await page.textContent('[data-testid=title]');
    const dims = await page.textContent('[data-testid=dims]');
    assert.match(dims, /700\s*cells/);
    log('header:', title, '|', dims.replace(/\s+/g, ' '));

    // 1. the scatter rendered: enough non-background pixels
    const rb0 = await page.evaluate(() => window.__cellgate.readback());
    log('drawn pixels (uniform colour):', rb0.drawn, 'of', rb0.width * rb0.height);
    assert.ok(rb0.drawn > 5000, `scatter drew only ${rb0.drawn} pixels`);

    // 2. colour by louvain: the legend lists its 11 categories with counts summing to 700
    await page.click('[data-testid="color-by-louvain"]');
    await page.waitForSelector('[data-testid=legend-item]');
    const items = await page.$$eval('[data-testid=legend-item]', (els) =>
      els.map((e) => [e.querySelector('.label').textContent, Number(e.querySelector('.count').textContent.replace(/,/g, ''))]));
    log('louvain legend:', items.map(([l, c]) => `${l}:${c}`).join(' '));
    assert.equal(items.length, 11);
    assert.equal(items.reduce((s, [, c]) => s + c, 0), 700);
    const rb1 = await page.evaluate(() => window.__cellgate.readback());
    assert.notEqual(rb1.hash, rb0.hash, 'colouring by louvain did not change the picture');
    await page.screenshot({ path: join(outDir, 'explorer-louvain.png') });

    // hiding a category removes its cells from the picture
    await page.click('[data-testid=legend-item] >> nth=0 >> input');
    const rbHidden = await page.evaluate(() => window.__cellgate.readback());
    assert.ok(rbHidden.drawn < rb1.drawn, 'hiding a category did not remove pixels');
    await page.click('[data-testid=legend-item] >> nth=0 >> input');

    // 3. colour by a gene typed into the search box
    await page.fill('[data-testid=gene-input]', 'CD79A');
    await page.press('[data-testid=gene-input]', 'Enter');
    await page.waitForFunction(() => window.__cellgate.colorBy().kind === 'gene');
    await page.waitForSelector('[data-testid=colorbar]');
    const rb2 = await page.evaluate(() => window.__cellgate.readback());
    assert.notEqual(rb2.hash, rb1.hash, 'colouring by CD79A did not change the picture');
    log('colour by gene CD79A: picture changed');
    await page.screenshot({ path: join(outDir, 'explorer-gene.png') });

    // pan/zoom and embedding switch change the picture; fit (f) restores it
    await page.click('[data-testid=color-by-louvain]');
    const rbL = await page.evaluate(() => window.__cellgate.readback());
    const sbox = await page.locator('[data-testid=scatter]').boundingBox();
    await page.mouse.move(sbox.x + sbox.width / 2, sbox.y + sbox.height / 2);
    await page.mouse.wheel(0, -400);
    const rbZ = await page.evaluate(() => window.__cellgate.readback());
    assert.notEqual(rbZ.hash, rbL.hash, 'wheel zoom did not change the picture');
    await page.keyboard.press('f');
    await page.waitForFunction((h) => window.__cellgate.readback().hash === h, rbL.hash);
    const other = await page.$$eval('[data-testid^=embedding-]:not(.on)', (b) => b.map((e) => e.dataset.testid));
    if (other.length) {
      await page.click(`[data-testid=${other[0]}]`);
      await page.waitForFunction((h) => window.__cellgate.readback().hash !== h, rbL.hash);
      log('switched embedding to', other[0].replace('embedding-', ''));
      const back = await page.$$eval('[data-testid^=embedding-]:not(.on)', (b) => b.map((e) => e.dataset.testid));
      await page.click(`[data-testid=${back[0]}]`);
      await page.waitForFunction((h) => window.__cellgate.readback().hash === h, rbL.hash);
    }

    // 4. lasso: a scripted polygon around the middle of the plot
    await page.click('[data-testid=tool-lasso]');
    const box = await page.locator('[data-testid=scatter]').boundingBox();
    const cx = box.x + box.width * 0.5, cy = box.y + box.height * 0.5, rad = Math.min(box.width, box.height) * 0.22;
    await page.mouse.move(cx + rad, cy);
    await page.mouse.down();
    for (let k = 1; k <= 48; k++) {
      const a = (2 * Math.PI * k) / 48;
      await page.mouse.move(cx + rad * Math.cos(a), cy + rad * 0.8 * Math.sin(a));
    }
    await page.mouse.up();
    const selected = Number((await page.textContent('[data-testid=selected-count]')).replace(/,/g, ''));
    log('lasso selected', selected, 'cells');
    assert.ok(selected > 0 && selected <= 700, `lasso selected ${selected}`);
    assert.equal(selected, await page.evaluate(() => window.__cellgate.selected()));

    // 5. differential expression, set 1 = the lasso vs the rest: a table, or the server's own message
    await page.click('.slot1 button');
    await page.click('[data-testid=compare]');
    await page.waitForSelector('[data-testid=de-results], [data-testid=de-message]');
    if (await page.$('[data-testid=de-message]')) {
      const msg = (await page.textContent('[data-testid=de-message]')).trim();
      log('diffexp: server message shown:', msg);
      assert.ok(msg.length > 0);
    } else {
      const rows = await page.$$eval('[data-testid=de-results] tbody tr', (r) => r.length);
      log('diffexp: rows', rows);
      assert.ok(rows > 0);
    }
    await page.screenshot({ path: join(outDir, 'explorer-lasso.png') });

    assert.deepEqual(errors, [], 'errors in the page');
    log('screenshots in', outDir);
    console.log('PASS');
  } finally {
    if (browser) await browser.close();
    server.kill('SIGTERM');
  }
}

main().then(() => { clearTimeout(watchdog); }, (e) => { console.error('FAIL:', e); process.exit(1); });
