import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { badInput, type DomainError } from '../domain/errors.js';
import { builder } from './builder.js';

builder.scalarType('DateTime', {
  description: 'An instant as an ISO-8601 string in UTC, e.g. 2026-11-26T18:40:00.000Z.',
  serialize: (value) => {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date.');
    return date.toISOString();
  },
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw invalidDate('a non-string literal');
    return parseDate(ast.value);
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => literalToJson(ast),
});

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    throw invalidDate(JSON.stringify(value));
  }
  const date = new Date(value);
  // Postgres has no year 0 (1 BC): "0000-01-01" reached it and failed as an internal error.
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1) throw invalidDate(JSON.stringify(value));
  return date;
}

function invalidDate(got: string): DomainError {
  return badInput(`DateTime must be an ISO-8601 string such as "2026-11-26T18:40:00Z" (got ${got}).`);
}

function literalToJson(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalToJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value)]));
    default:
      throw badInput('JSON literals cannot contain variables; pass the whole value as a variable instead.');
  }
}
