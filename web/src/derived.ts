/* derived.ts — state computed from state (memoised by signals). */
import { computed } from '@preact/signals';
import { categoricalSource, continuousSource, type Source } from './paint';
import * as S from './state';

/** The colour source for the current colouring (memoised: percentiles are computed once per column). */
export const source = computed<Source>(() => {
  const c = S.colorBy.value, ds = S.dataset.value;
  if (c.kind === 'obs') {
    const col = S.obs.value.get(c.name);
    if (col?.kind === 'categorical') return categoricalSource(col, ds?.colors[c.name]);
    if (col?.kind === 'continuous') return continuousSource(col.values);
  } else if (c.kind === 'gene') {
    const v = S.genes.value.get(c.name);
    if (v) return continuousSource(v);
  }
  return { kind: 'uniform' };
});

