/**
 * Reading a configuration document for `org-webhooks apply`: YAML or JSON (YAML is a superset of
 * JSON, so one parser reads both), then `${NAME}` in string values replaced from the environment,
 * so a repository holds references to secrets, never the secrets.
 */
import { readFileSync } from 'node:fs';
import { parse, YAMLParseError } from 'yaml';

/** A problem that stops the command, with the line to print. */
export class CliError extends Error {
  override name = 'CliError';
}

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{[^}]*\}?/g;

/**
 * Replaces `${NAME}` in every string value (not in keys) with the environment variable NAME.
 * `$${` writes a literal `${`. A variable that is not set, or a malformed reference, is an error
 * naming every place at once (values are never echoed: they may be secrets).
 */
export function substituteEnvironment(document: unknown, env: NodeJS.ProcessEnv): unknown {
  const missing: string[] = [];
  const visit = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') {
      return value.replace(REFERENCE, (match, name: string | undefined) => {
        if (match === '$${') return '${';
        if (name === undefined) {
          missing.push(`${path}: "${match}" is not a reference; write \${NAME} with NAME made of letters, digits and "_" (or $\${ for a literal "\${")`);
          return match;
        }
        const found = env[name];
        if (found === undefined) {
          missing.push(`${path}: the environment variable ${name} is not set`);
          return match;
        }
        return found;
      });
    }
    if (Array.isArray(value)) return value.map((v, i) => visit(v, `${path}[${i}]`));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v, path ? `${path}.${k}` : k)]));
    }
    return value;
  };
  const result = visit(document, '');
  if (missing.length > 0) throw new CliError(`The document refers to what cannot be substituted:\n  ${missing.join('\n  ')}`);
  return result;
}

/** Parses YAML or JSON text; a syntax error names its line and column. */
export function parseDocumentText(text: string, source: string): unknown {
  try {
    // uniqueKeys (the default): a key given twice is an error, not a silent overwrite.
    return parse(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const at = err.linePos?.[0];
      throw new CliError(`${source}${at ? `:${at.line}:${at.col}` : ''}: ${err.message.split('\n')[0]}`);
    }
    throw err;
  }
}

/** Reads, parses and substitutes a document file (`-` reads standard input). */
export function readDocumentFile(file: string, env: NodeJS.ProcessEnv): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const document = parseDocumentText(text, file === '-' ? '<stdin>' : file);
  if (document === null || document === undefined) throw new CliError(`${file} is empty: it must hold a configuration document ({version: 1, eventTypes: ..., endpoints: ...}).`);
  return substituteEnvironment(document, env);
}
