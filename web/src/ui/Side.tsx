/* Side.tsx — the right panel: gene search (colour by one gene), the selection, two sets and differential
 * expression between them. DE results and errors are shown exactly as the server sent them. */
import { useMemo, useState } from 'preact/hooks';
import * as S from '../state';
import { colorByGene, compare, setSelection, storeSet } from '../actions';
import { fmtNum } from './ColorBar';

const fmt = (n: number) => n.toLocaleString('en-US');

export function GeneSearch() {
  const [text, setText] = useState('');
  const [active, setActive] = useState(0);
  const names = S.geneNames.value;
  const matches = useMemo(() => {
    const t = text.trim().toLowerCase();
    if (!t) return [];
    const exact: string[] = [], pre: string[] = [], mid: string[] = [];
    for (const g of names) {
      const l = g.toLowerCase();
      if (l === t) exact.push(g);
      else if (l.startsWith(t)) { if (pre.length < 10) pre.push(g); }
      else if (mid.length < 10 && l.includes(t)) mid.push(g);
    }
    pre.sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    return exact.concat(pre, mid).slice(0, 10);
  }, [text, names]);
  const choose = (g: string) => { setText(''); setActive(0); void colorByGene(g); };
  const c = S.colorBy.value;
  return (
    <section class="panel genes">
      <h2>Genes <span class="muted">{fmt(names.length)}</span></h2>
      <div class="search">
        <input type="search" placeholder="Search a gene, e.g. CD79A" aria-label="gene" data-testid="gene-input"
               value={text} autocomplete="off" spellcheck={false}
               onInput={(e) => { setText((e.target as HTMLInputElement).value); setActive(0); }}
               onKeyDown={(e) => {
                 if (e.key === 'ArrowDown') { setActive(Math.min(active + 1, matches.length - 1)); e.preventDefault(); }
                 else if (e.key === 'ArrowUp') { setActive(Math.max(active - 1, 0)); e.preventDefault(); }
                 else if (e.key === 'Enter') choose(matches[active] ?? text.trim());
                 else if (e.key === 'Escape') setText('');
               }} />
        {matches.length > 0 && (
          <ul class="suggest" role="listbox">
            {matches.map((g, i) => (
              <li key={g} role="option" aria-selected={i === active} class={i === active ? 'on' : ''}
                  onMouseDown={(e) => { e.preventDefault(); choose(g); }}>{g}</li>
            ))}
          </ul>
        )}
      </div>
      {S.geneError.value && <p class="error">{S.geneError.value}</p>}
      <div class="chips">
        {[...S.genes.value.keys()].reverse().map((g) => (
          <button key={g} class={`chip ${c.kind === 'gene' && c.name === g ? 'on' : ''}`} onClick={() => colorByGene(g)}>{g}</button>
        ))}
      </div>
    </section>
  );
}

function SetSlot({ which }: { which: 1 | 2 }) {
  const set = (which === 1 ? S.set1 : S.set2).value;
  const sel = S.selectionCount.value;
  return (
    <div class={`slot slot${which}`}>
      <span class="slot-name">Set {which}</span>
      <span class="slot-count" data-testid={`set${which}-count`}>
        {set ? `${fmt(set.count())} cells` : which === 2 && S.set1.value ? 'rest of cells' : '—'}
      </span>
      <button disabled={!sel} onClick={() => storeSet(which)} title="store the current selection">
        {set ? 'replace' : 'from selection'}
      </button>
    </div>
  );
}

export function SelectionPanel() {
  const ds = S.dataset.value;
  const n = S.selectionCount.value;
  const d = S.de.value;
  return (
    <section class="panel selection">
      <h2>Selection</h2>
      <div class="selcount">
        <span class="big" data-testid="selected-count">{fmt(n)}</span>
        <span class="muted">cells selected{ds ? ` of ${fmt(ds.nObs)}` : ''}</span>
        {n > 0 && <button class="link" onClick={() => setSelection(null)}>clear</button>}
      </div>
      {n === 0 && <p class="hint">Lasso cells on the plot (L, or shift-drag).</p>}
      <h2>Differential expression</h2>
      <SetSlot which={1} />
      <SetSlot which={2} />
      <button class="primary" data-testid="compare" disabled={!S.set1.value || d.status === 'running'} onClick={compare}>
        {d.status === 'running' ? 'Computing…' : 'Compare set 1 vs ' + (S.set2.value ? 'set 2' : 'rest')}
      </button>
      <DeResults />
    </section>
  );
}

function DeResults() {
  const d = S.de.value;
  const [dir, setDir] = useState<'positive' | 'negative'>('positive');
  const names = S.geneNames.value;
  const c = S.colorBy.value;
  if (d.status === 'error') {
    return (
      <div class="de-error" role="alert" data-testid="de-message">
        <strong>{d.httpStatus ? `Server answered ${d.httpStatus}` : 'Request failed'}</strong>
        <span>{d.message}</span>
      </div>
    );
  }
  if (d.status !== 'done') return null;
  const rows = d[dir];
  return (
    <div class="de" data-testid="de-results">
      <div class="de-head">
        <div class="seg">
          <button class={dir === 'positive' ? 'on' : ''} onClick={() => setDir('positive')}>up in set 1 ({d.positive.length})</button>
          <button class={dir === 'negative' ? 'on' : ''} onClick={() => setDir('negative')}>down ({d.negative.length})</button>
        </div>
        <span class="muted">{fmt(d.n1)} vs {fmt(d.n2)} cells · {Math.round(d.ms)} ms</span>
      </div>
      <table>
        <thead><tr><th>gene</th><th class="num">log FC</th><th class="num">p adj</th></tr></thead>
        <tbody>
          {rows.map(([vi, lfc, , padj]) => {
            const g = names[vi] ?? `#${vi}`;
            return (
              <tr key={vi} class={c.kind === 'gene' && c.name === g ? 'on' : ''} onClick={() => colorByGene(g)}>
                <td>{g}</td><td class="num">{fmtNum(lfc)}</td><td class="num">{padj === 0 ? '0' : padj.toExponential(1)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
