/* Decodes real responses of `cellgate explorer` when CELLGATE (the binary) and CG_TEST_BUNDLE (a .cgb or .h5ad)
 * are set; skipped otherwise. The server listens on a free loopback port. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { decodeMatrix, toFloat32, colIndexNames } from '../src/wire/netencoding';

const bin = process.env.CELLGATE, bundle = process.env.CG_TEST_BUNDLE;
const skip = !bin || !bundle ? 'set CELLGATE and CG_TEST_BUNDLE to run against the real server' : false;

async function start(): Promise<[ChildProcess, string]> {
  const p = spawn(bin!, ['explorer', bundle!, '--host', '127.0.0.1', '--port', '0', '--quiet'],
                  { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error('server did not start: ' + err)), 20000);
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    p.on('exit', (c) => { clearTimeout(t); reject(new Error(`server exited ${c}: ${err}`)); });
  });
  return [p, url];
}

async function get(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url, { headers: { Accept: 'application/octet-stream' } });
  assert.equal(r.status, 200, url);
  return r.arrayBuffer();
}

test('real server responses decode', { skip }, async () => {
  const [proc, base] = await start();
  try {
    const schema = (await (await fetch(base + 'api/v0.2/schema')).json()).schema;
    const n = schema.dataframe.nObs;
    const emb = schema.layout.obs[0].name;
    const lay = decodeMatrix(await get(`${base}api/v0.2/layout/obs?layout-name=${emb}`));
    assert.equal(lay.nRows, n);
    assert.deepEqual(colIndexNames(lay), [`${emb}_0`, `${emb}_1`]);
    const xs = toFloat32(lay.columns[0]);
    assert.ok(xs.every((v) => Number.isNaN(v) || (v >= 0 && v <= 1)), 'layout normalised to [0,1]');

    const lay3 = decodeMatrix(await get(`${base}api/v0.3/layout/obs?layout-name=${emb}&nbins=5000`));
    const xq = toFloat32(lay3.columns[0]);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(xq[i] - xs[i]) <= 1 / 5000 + 1e-6, `nbins decode at ${i}`);

    const cat = schema.annotations.obs.columns.find((c: { type: string }) => c.type === 'categorical');
    const a2 = decodeMatrix(await get(`${base}api/v0.2/annotations/obs?annotation-name=${cat.name}`));
    const a3 = decodeMatrix(await get(`${base}api/v0.3/annotations/obs?annotation-name=${cat.name}`));
    const c2 = a2.columns[0], c3 = a3.columns[0];
    assert.equal(c2.kind, 'json');
    assert.equal(c3.kind, 'dict');
    if (c2.kind === 'json' && c3.kind === 'dict') {
      for (let i = 0; i < n; i++) assert.equal(c3.dict[String(c3.codes[i])], c2.data[i]);
    }

    const names = decodeMatrix(await get(`${base}api/v0.2/annotations/var?annotation-name=name_0`));
    const gene = (names.columns[0] as { data: string[] }).data[0];
    const g = decodeMatrix(await get(`${base}api/v0.2/data/var?var:name_0=${encodeURIComponent(encodeURIComponent(gene))}`));
    assert.equal(g.nRows, n);
    assert.deepEqual(colIndexNames(g), ['0']);
  } finally {
    proc.kill('SIGTERM');
  }
});
