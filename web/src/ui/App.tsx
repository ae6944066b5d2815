/* App.tsx — page layout: header, annotations (left), scatter (centre), genes + selection + DE (right). */
import { useEffect } from 'preact/hooks';
import * as S from '../state';
import { setEmbedding, setSelection } from '../actions';
import { Annotations } from './Annotations';
import { Scatter, renderer } from './Scatter';
import { GeneSearch, SelectionPanel } from './Side';

const fmt = (n: number) => n.toLocaleString('en-US');

function Header() {
  const ds = S.dataset.value;
  return (
    <header class="top">
      <a class="brand" href="https://github.com/" onClick={(e) => e.preventDefault()} aria-label="cellgate">
        <svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="6" cy="7" r="3" /><circle cx="13" cy="5" r="2" /><circle cx="12" cy="13" r="4" /></svg>
        cellgate
      </a>
      {ds && (
        <>
          <h1 data-testid="title">{ds.title}</h1>
          <span class="dims" data-testid="dims"><b>{fmt(ds.nObs)}</b> cells <span class="x">×</span> <b>{fmt(ds.nVar)}</b> genes</span>
          <div class="seg embeddings" role="radiogroup" aria-label="embedding">
            {ds.embeddings.map((e) => (
              <button key={e} role="radio" aria-checked={S.embedding.value === e} class={S.embedding.value === e ? 'on' : ''}
                      data-testid={`embedding-${e}`}
                      onClick={() => { setSelection(null); void setEmbedding(e); renderer?.camera.fit(); }}>{e}</button>
            ))}
          </div>
        </>
      )}
      <span class="spacer" />
      {ds?.config.displayNames?.engine && <span class="engine">{ds.config.displayNames.engine}</span>}
    </header>
  );
}

function useShortcuts() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA') || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'l') S.tool.value = 'lasso';
      else if (e.key === 'p') S.tool.value = 'pan';
      else if (e.key === 'f') { renderer?.camera.fit(); renderer?.requestRender(); }
      else if (e.key === 'Escape') setSelection(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

export function App() {
  useShortcuts();
  return (
    <div class="app">
      <Header />
      {S.fatal.value && <div class="fatal" role="alert">{S.fatal.value}</div>}
      <div class="body">
        <aside class="left"><Annotations /></aside>
        <main class="centre"><Scatter /></main>
        <aside class="right"><GeneSearch /><SelectionPanel /></aside>
      </div>
    </div>
  );
}
