/**
 * The Prometheus alert rules shipped in docs/operations.md: the block parses as a rule file, each
 * rule is complete, and every metric (and label) its expression uses exists on /metrics of a
 * running service with both roles. A renamed metric breaks this test, not an operator's alerting.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestService, type TestService } from '../helpers/service.js';
import { scrape, type Exposition } from '../helpers/prometheus.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Series Prometheus makes itself rather than scraping them. */
const PROMETHEUS_OWN = new Set(['up']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

function rulesBlock(): string {
  const doc = readFileSync('docs/operations.md', 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^groups:/m.test(b));
  expect(blocks, 'one ```yaml block with the rule groups in docs/operations.md').toHaveLength(1);
  return blocks[0]!;
}

/** The metric selectors of a PromQL expression: names, with the label names each matches on. */
function selectors(expr: string): { name: string; labels: string[] }[] {
  let text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  const found: { name: string; labels: string[] }[] = [];
  // name{matchers}
  text = text.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g, (_, name: string, matchers: string) => {
    found.push({ name, labels: [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!) });
    return ' ';
  });
  text = text
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery durations
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' '); // numbers, 256e6 included
  for (const m of text.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1]!.toLowerCase())) continue; // a function call or a keyword
    found.push({ name: m[1]!, labels: [] });
  }
  return found;
}

/** The metric family a sample name belongs to (histogram and summary series carry suffixes). */
function family(metrics: Exposition, name: string): string | null {
  if (metrics.types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && ['histogram', 'summary'].includes(metrics.types.get(base) ?? '') ? base : null;
}

describe('alert rules in docs/operations.md', () => {
  let service: TestService;
  let metrics: Exposition;

  beforeAll(async () => {
    service = await startTestService();
    metrics = await scrape(service.url);
  });
  afterAll(() => service?.close());

  it('reads PromQL selectors the way Prometheus does', () => {
    expect(selectors('sum(rate(a_total{outcome="failure", x=~"y"}[10m])) / sum by (le) (b_bucket) > 256e6 and on (instance) c')).toEqual([
      { name: 'a_total', labels: ['outcome', 'x'] },
      { name: 'b_bucket', labels: [] },
      { name: 'c', labels: [] },
    ]);
  });

  it('is a rule file whose every rule has an expression, a severity, a summary and a sane duration', () => {
    const file = parse(rulesBlock()) as { groups: { name: string; rules: Rule[] }[] };
    const rules = file.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(10);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Webhooks[A-Z][A-Za-z]+$/);
      expect(typeof rule.expr).toBe('string');
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
      for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}']] as const) {
        expect(rule.expr.split(open).length, `${rule.alert}: balanced ${open}${close}`).toBe(rule.expr.split(close).length);
      }
    }
    // The four the operability issue asks for.
    const exprs = rules.map((r) => r.expr).join('\n');
    for (const metric of ['webhooks_delivery_lag_seconds', 'webhooks_attempts_total', 'webhooks_endpoints_circuit', 'webhooks_database_up']) {
      expect(exprs).toContain(metric);
    }
  });

  it('uses only metrics and labels that exist on /metrics', () => {
    const rules = (parse(rulesBlock()) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
    const problems: string[] = [];
    for (const rule of rules) {
      for (const { name, labels } of selectors(rule.expr)) {
        if (PROMETHEUS_OWN.has(name)) continue;
        const fam = family(metrics, name);
        if (!fam) {
          problems.push(`${rule.alert}: no metric ${name}`);
          continue;
        }
        // Label names can be checked where the family has samples (a labelled counter has none before its first event).
        const seen = metrics.samples.filter((s) => family(metrics, s.name) === fam);
        for (const label of labels) {
          if (seen.length && !seen.some((s) => label in s.labels)) problems.push(`${rule.alert}: ${name} has no label ${label}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
