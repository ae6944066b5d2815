/* ColorBar.tsx — the legend of a continuous colouring: viridis bar over the 1st–99th percentile range. */
import { VIRIDIS_CSS } from '../color';
import * as S from '../state';
import { source } from '../derived';

export const fmtNum = (v: number): string => {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return v.toLocaleString('en-US', { maximumSignificantDigits: 4 });
};

export function ColorBar() {
  const src = source.value, c = S.colorBy.value;
  if (src.kind !== 'continuous' || c.kind === 'none') return null;
  return (
    <div class="colorbar" data-testid="colorbar">
      <div class="cb-title">
        <span class="cb-kind">{c.kind === 'gene' ? 'gene' : 'obs'}</span> {c.name}
      </div>
      <div class="cb-bar" style={{ background: VIRIDIS_CSS }} />
      <div class="cb-ticks"><span>{fmtNum(src.lo)}</span><span>{fmtNum(src.hi)}</span></div>
      <div class="cb-note">clipped to 1st–99th percentile · range {fmtNum(src.min)} – {fmtNum(src.max)}</div>
    </div>
  );
}
