// Shared pieces of the browser tests: start `cellgate explorer` on a free loopback port, launch Debian's
// chromium through playwright-core, and serve web/dist on the server's origin while the server has no static
// route of its own (request interception; API paths go to the real server).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, extname } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader'];

export function startServer(cellgate, data, cacheDir, extra = []) {
  const p = spawn(cellgate, ['explorer', data, '--host', '127.0.0.1', '--port', '0', '--cache-dir', cacheDir, '--quiet', ...extra],
                  { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((res, rej) => {
    let err = '';
    const t = setTimeout(() => { p.kill('SIGKILL'); rej(new Error('server did not start in 120 s: ' + err)); }, 120_000);
    p.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
      if (m) { clearTimeout(t); res([p, m[1]]); }
    });
    p.on('exit', (c) => { clearTimeout(t); rej(new Error(`server exited with ${c}: ${err}`)); });
  });
}

export async function launch(src, chromiumPath) {
  const { chromium } = await import(pathToFileURL(join(src, 'web/node_modules/playwright-core/index.mjs')).href);
  return chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
                '.css': 'text/css; charset=utf-8', '.map': 'application/json' };

/** true when the server answers / with HTML itself; otherwise routes non-API paths of base to dist. */
export async function serveClient(page, base, dist) {
  const probe = await fetch(base);
  if (probe.ok && (probe.headers.get('content-type') || '').includes('text/html')) return true;
  await page.route(base + '**', (route) => {
    const u = new URL(route.request().url());
    if (/^\/(api|health|metrics|s3_uri|e)\b/.test(u.pathname)) return route.continue();
    const file = u.pathname === '/' ? 'index.html' : u.pathname.slice(1);
    const path = join(dist, file);
    if (file.includes('..') || !existsSync(path)) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, contentType: TYPES[extname(path)] || 'application/octet-stream',
                           body: readFileSync(path) });
  });
  return false;
}
