/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4, what prom-client
 * writes): throws on any line that does not follow it, so a test that reads /metrics also checks
 * that a scraper could.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** Sum of the samples of `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
  has(name: string): boolean;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*"';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})? (\\S+)(?: (-?\\d+))?$`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('exposition must end with a newline');
  lines.forEach((line, i) => {
    if (line === '') return;
    const fail = (why: string) => {
      throw new Error(`line ${i + 1}: ${why}: ${line}`);
    };
    if (line.startsWith('# HELP ')) {
      if (!new RegExp(`^# HELP ${NAME}( .*)?$`).test(line)) fail('bad HELP');
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (!name || !new RegExp(`^${NAME}$`).test(name) || !TYPES.has(type ?? '')) fail('bad TYPE');
      if (types.has(name!)) fail('TYPE given twice');
      types.set(name!, type!);
      return;
    }
    if (line.startsWith('#')) return;
    const m = SAMPLE.exec(line);
    if (!m) return fail('bad sample');
    const [, name, labelText, rawValue] = m;
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : rawValue === 'NaN' ? NaN : Number(rawValue);
    if (Number.isNaN(value) && rawValue !== 'NaN') fail('bad value');
    const family = types.has(name!) ? name! : name!.replace(/_(bucket|sum|count|total|created)$/, '');
    if (!types.has(family) && !types.has(name!)) fail('sample without a TYPE');
    const labels: Record<string, string> = {};
    for (const pair of labelText?.match(new RegExp(LABEL, 'g')) ?? []) {
      const eq = pair.indexOf('=');
      labels[pair.slice(0, eq)] = JSON.parse(pair.slice(eq + 1));
    }
    samples.push({ name: name!, labels, value });
  });
  return {
    types,
    samples,
    value(name, labels = {}) {
      return samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
    },
    has: (name) => samples.some((s) => s.name === name),
  };
}

/** GETs `${baseUrl}/metrics` and parses it. */
export async function scrape(baseUrl: string): Promise<Exposition> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  if (!/^text\/plain; version=0\.0\.4/.test(response.headers.get('content-type') ?? '')) throw new Error('unexpected content-type');
  return parseExposition(await response.text());
}
