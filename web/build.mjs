// Builds the Explorer client into dist/ (index.html, app.js, app.css) with esbuild.
//   node build.mjs            production build (minified, sourcemap), prints sizes
//   node build.mjs --tests    bundles test/*.test.ts into dist-test/ and runs them with node:test
//   node build.mjs --watch    rebuild on change
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const args = new Set(process.argv.slice(2));

async function buildApp() {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const opts = {
    entryPoints: { app: join(here, 'src/main.tsx') },
    outdir: dist,
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
    minify: !args.has('--watch'),
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  };
  copyFileSync(join(here, 'src/index.html'), join(dist, 'index.html'));
  if (args.has('--watch')) {
    const ctx = await esbuild.context(opts);
    await ctx.watch();
    console.log('watching src/ ...');
    return;
  }
  await esbuild.build(opts);
  let total = 0;
  for (const f of ['index.html', 'app.js', 'app.css']) {
    const b = readFileSync(join(dist, f));
    const gz = gzipSync(b, { level: 9 }).length;
    total += gz;
    console.log(`dist/${f.padEnd(11)} ${String(b.length).padStart(8)} B  ${String(gz).padStart(7)} B gzip`);
  }
  console.log(`total gzip ${total} B (budget 150 KB)`);
  if (total > 150 * 1024) throw new Error('weight budget exceeded');
}

async function buildAndRunTests() {
  const out = join(here, 'dist-test');
  rmSync(out, { recursive: true, force: true });
  const tests = readdirSync(join(here, 'test')).filter((f) => f.endsWith('.test.ts'));
  await esbuild.build({
    entryPoints: tests.map((f) => join(here, 'test', f)),
    outdir: out,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    packages: 'external',
    logLevel: 'warning',
  });
  const files = readdirSync(out).filter((f) => f.endsWith('.mjs') && statSync(join(out, f)).isFile());
  const r = spawnSync(process.execPath, ['--test', ...files.map((f) => join(out, f))], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

if (args.has('--tests')) await buildAndRunTests();
else await buildApp();
