/* Annotations.tsx — the left panel: obs columns to colour by; the coloured categorical column expands into its
 * legend (swatch, label, count, share bar) with checkboxes that hide and show categories. */
import { useState } from 'preact/hooks';
import { rgbToHex } from '../color';
import { source } from '../derived';
import { isCategorical } from '../data';
import * as S from '../state';
import { colorByObs, setHiddenCategories, toggleCategory } from '../actions';
import type { Categorical } from '../data';
import { fmtNum } from './ColorBar';

const fmt = (n: number) => n.toLocaleString('en-US');

export function Annotations() {
  const ds = S.dataset.value;
  if (!ds) return null;
  const cats = ds.obsColumns.filter(isCategorical), nums = ds.obsColumns.filter((c) => !isCategorical(c));
  const loaded = S.obs.value.size > 0;
  return (
    <nav class="panel annotations" aria-label="annotations">
      <h2>Categorical <span class="muted">{cats.length}</span></h2>
      {cats.map((c) => <CategoryBlock key={c.name} name={c.name} nCats={c.categories?.length ?? 2} />)}
      <h2>Continuous <span class="muted">{nums.length}</span></h2>
      <ul class="contlist">
        {nums.map((c) => <ContinuousRow key={c.name} name={c.name} type={c.type} />)}
      </ul>
      {!loaded && <p class="muted pad">loading annotations…</p>}
    </nav>
  );
}

function ContinuousRow({ name, type }: { name: string; type: string }) {
  const c = S.colorBy.value, on = c.kind === 'obs' && c.name === name;
  const col = S.obs.value.get(name);
  let range = '';
  if (col?.kind === 'continuous') {
    let lo = Infinity, hi = -Infinity;
    for (const v of col.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo <= hi) range = `${fmtNum(lo)} – ${fmtNum(hi)}`;
  }
  return (
    <li>
      <button class={`row colrow ${on ? 'on' : ''}`} aria-pressed={on} disabled={!col} onClick={() => colorByObs(name)}
              title={`${name} (${type})`} data-testid={`color-by-${name}`}>
        <span class="dot" aria-hidden="true" />
        <span class="name">{name}</span>
        <span class="range">{range}</span>
      </button>
    </li>
  );
}

function CategoryBlock({ name, nCats }: { name: string; nCats: number }) {
  const c = S.colorBy.value, on = c.kind === 'obs' && c.name === name;
  const [open, setOpen] = useState(false);
  const col = S.obs.value.get(name);
  const hid = S.hidden.value.get(name);
  const expanded = on || open;
  return (
    <section class={`catblock ${on ? 'on' : ''}`}>
      <div class="cathead">
        <button class="caret" aria-expanded={expanded} aria-label={`${expanded ? 'collapse' : 'expand'} ${name}`}
                onClick={() => setOpen(!expanded)}>{expanded ? '▾' : '▸'}</button>
        <button class="row colrow" aria-pressed={on} disabled={!col} data-testid={`color-by-${name}`}
                onClick={() => { colorByObs(name); setOpen(true); }}>
          <span class="name">{name}</span>
          <span class="muted">{col?.kind === 'categorical' ? col.categories.length : nCats}</span>
          {hid && hid.size > 0 && <span class="badge">{hid.size} hidden</span>}
        </button>
      </div>
      {expanded && col?.kind === 'categorical' && <Legend col={col} colored={on} />}
    </section>
  );
}

function Legend({ col, colored }: { col: Categorical; colored: boolean }) {
  const src = source.value;
  const lut = colored && src.kind === 'categorical' && src.col === col ? src.lut : null;
  const hid = S.hidden.value.get(col.name) ?? new Set<number>();
  let max = 1;
  for (const v of col.counts) if (v > max) max = v;
  const all = col.categories.map((_, i) => i);
  const folded = col.categories.length > 1000;
  const shown = folded ? all.slice(0, 1000) : all;
  return (
    <div class="legend" data-testid="legend">
      <div class="legend-actions">
        <button class="link" onClick={() => setHiddenCategories(col.name, [])}>show all</button>
        <button class="link" onClick={() => setHiddenCategories(col.name, all)}>hide all</button>
      </div>
      <ul>
        {shown.map((k) => {
          const off = hid.has(k);
          const sw = lut ? rgbToHex(lut[3 * k], lut[3 * k + 1], lut[3 * k + 2]) : '#c3c8d0';
          const id = `cat-${col.name}-${k}`;
          return (
            <li key={k} class={`legend-item ${off ? 'off' : ''}`} data-testid="legend-item">
              <input type="checkbox" id={id} checked={!off} onChange={() => toggleCategory(col.name, k)} />
              <label for={id}>
                <span class="swatch" style={{ background: sw }} />
                <span class="label" title={col.categories[k]}>{col.categories[k]}</span>
                <span class="count">{fmt(col.counts[k])}</span>
                <span class="share"><span style={{ width: `${(100 * col.counts[k]) / max}%`, background: sw }} /></span>
              </label>
              <button class="only" title="show only this category"
                      onClick={() => setHiddenCategories(col.name, all.filter((i) => i !== k))}>only</button>
            </li>
          );
        })}
      </ul>
      {folded && <p class="muted pad">{fmt(col.categories.length - 1000)} more labels not listed</p>}
    </div>
  );
}
