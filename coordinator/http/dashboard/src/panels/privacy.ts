/** Differential privacy spent so far: the panel exists only when the status carries it. */
import { byId, fmt, show } from '../dom.ts';
import type { FederationStatus } from '../types.ts';

export function renderPrivacy(s: FederationStatus): void {
  const p = s.privacy;
  show(byId('privacy-panel'), !!p);
  if (p) byId('privacy').textContent = `ε = ${fmt(p.epsilon)} spent at δ = ${p.delta.toExponential(1)}${p.maxEpsilon !== undefined ? ` of a budget of ${p.maxEpsilon}` : ''}`;
}
