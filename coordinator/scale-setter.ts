/**
 * A site whose statistics alone set a numeric column's federation scale. Sums within the
 * bounds (values of at most 1e15) can still make the agreed SD of a column so wide that it
 * carries nothing for anyone; readiness then found every honest site "unlike the federation"
 * and said nothing of the one site that widened it (a hostile-site try). Leave-one-out, as
 * the foreign-coding check: where the federation's SD is at least sdRatioSevere times what
 * the other sites' values give, and exactly one site does that, that site is named (blocking)
 * and the other sites' blocking reasons on that column become warnings that point to it.
 * An honest unit mismatch (cholesterol in mmol/L at one of four hospitals) widens the SD
 * far less (about 2.4x): it is left to the site's own shifted-mean reason.
 */
import { sampleSd, type FeatureStats } from '../shared/data/stats.ts';
import { fmt, READINESS_THRESHOLDS, verdictOf, type ReadinessReport, type Reason, type Thresholds } from '../shared/readiness/check.ts';

/** Per numeric feature, the one site whose values set its federation SD, with the SD ratio (federation / the other sites'). */
export function scaleSetters(perSite: ReadonlyMap<string, FeatureStats>, t: Thresholds = READINESS_THRESHOLDS): Map<string, { site: string; ratio: number; othersSd: number; federationSd: number }> {
  const found = new Map<string, { site: string; ratio: number; othersSd: number; federationSd: number }>();
  if (perSite.size < 3) return found;
  const features = new Set([...perSite.values()].flatMap((s) => Object.keys(s.numeric)));
  const sumOf = (f: string, skip?: string) => {
    // Summed afresh, not subtracted from the total: a sum near the bounds would swamp the others' in the difference.
    const t = { count: 0, sum: 0, sumSq: 0 };
    for (const [site, s] of perSite) {
      const x = s.numeric[f];
      if (!x || site === skip) continue;
      t.count += x.count;
      t.sum += x.sum;
      t.sumSq += x.sumSq;
    }
    return t;
  };
  for (const f of features) {
    const all = sumOf(f);
    if (all.count < 2) continue;
    const federationSd = sampleSd(all);
    const setters: { site: string; ratio: number; othersSd: number }[] = [];
    for (const [site, s] of perSite) {
      if (!s.numeric[f]?.count) continue;
      const others = sumOf(f, site);
      // The others must have values enough to say what the column's scale is.
      if (others.count < 2 * t.minValues) continue;
      const othersSd = sampleSd(others);
      if (othersSd > 0 && federationSd >= t.sdRatioSevere * othersSd) setters.push({ site, ratio: federationSd / othersSd, othersSd });
    }
    if (setters.length === 1) found.set(f, { ...setters[0]!, federationSd });
  }
  return found;
}

/** The sites' reports with the scale-setters named and the others' blocking reasons on those columns made warnings that point to them. */
export function blameScaleSetters(sites: Record<string, ReadinessReport>, perSite: ReadonlyMap<string, FeatureStats>, t: Thresholds = READINESS_THRESHOLDS): Record<string, ReadinessReport> {
  const setters = scaleSetters(perSite, t);
  if (setters.size === 0) return sites;
  const out: Record<string, ReadinessReport> = {};
  for (const [name, report] of Object.entries(sites)) {
    const reasons: Reason[] = report.reasons.map((r) => {
      const s = r.subject === undefined ? undefined : setters.get(r.subject);
      if (!s || s.site === name || r.severity !== 'blocking' || (r.kind !== 'shifted-mean' && r.kind !== 'sd-ratio')) return r;
      return { ...r, severity: 'warning', message: `${r.message}; the federation's scale of ${r.subject} is set by site "${s.site}" (see its readiness), not by this site` };
    });
    for (const [f, s] of setters)
      if (s.site === name)
        reasons.push({
          severity: 'blocking',
          kind: 'sets-scale',
          subject: f,
          message:
            `${f}: the federation's SD ${fmt(s.federationSd)} is ${fmt(s.ratio)}x what the other sites' values give (${fmt(s.othersSd)}): this site's statistics alone set the column's scale, ` +
            `so it carries little for anyone; check its unit and coding, or whether its statistics can be trusted`,
          figures: { federationSd: s.federationSd, othersSd: s.othersSd, ratio: s.ratio },
        });
    out[name] = { ...report, reasons, verdict: verdictOf(reasons) };
  }
  return out;
}
