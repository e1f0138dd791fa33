/**
 * DOM helpers. Text goes in through textContent only, never innerHTML: site errors and
 * refusal reasons are free text that must not become markup.
 */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`dashboard markup lacks #${id}`);
  return e as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string | number | null, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

export function row(cells: (HTMLElement | string | number)[]): HTMLTableRowElement {
  const tr = el('tr');
  for (const c of cells) tr.appendChild(c instanceof HTMLElement ? c : el('td', c));
  return tr;
}

export function td(text: string | number | null | undefined, cls?: string, title?: string): HTMLTableCellElement {
  const c = el('td', text ?? '', cls);
  if (title) c.title = title;
  return c;
}

/** A full-width row saying there is nothing to show. */
export function emptyRow(text: string, columns: number): HTMLTableRowElement {
  const c = td(text, 'empty');
  c.colSpan = columns;
  return row([c]);
}

export function fmt(x: number | undefined | null, digits = 3): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return iso;
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** Shows or hides a whole panel (a <section>). */
export function show(e: HTMLElement, visible: boolean): void {
  e.hidden = !visible;
}
