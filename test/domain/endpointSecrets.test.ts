import { describe, expect, it } from 'vitest';
import { joinUrlSecret, MASK, maskHeaderValues, maskQuery, splitUrlSecret } from '../../server/domain/endpointSecrets.js';

describe('endpoint secrets', () => {
  it('splits a URL into a display form with masked query values and the secret query, and joins them back', () => {
    for (const url of ['https://h.example/p?token=abc', 'https://h.example/p?a=1&b=&c', 'https://h.example/?x=1#frag', 'https://h.example/p?']) {
      const { display, secret } = splitUrlSecret(url);
      expect(display).not.toMatch(/abc|a=1/);
      expect(joinUrlSecret(display, secret)).toBe(url);
    }
    expect(splitUrlSecret('https://h.example/p?token=abc&mode=x').display).toBe(`https://h.example/p?token=${MASK}&mode=${MASK}`);
    expect(splitUrlSecret('https://h.example/p')).toEqual({ display: 'https://h.example/p', secret: null });
    expect(joinUrlSecret('https://h.example/p', null)).toBe('https://h.example/p');
  });

  it('masks bare query parts and fragments whole', () => {
    expect(maskQuery('SECRETVALUE')).toBe(MASK);
    expect(maskQuery('a=1#tok')).toBe(`a=${MASK}`);
  });

  it('masks header values, keeping names and order', () => {
    expect(maskHeaderValues({ Authorization: 'Bearer x', 'X-B': 'y' })).toEqual({ Authorization: MASK, 'X-B': MASK });
    expect(Object.keys(maskHeaderValues({ b: '1', a: '2' }))).toEqual(['b', 'a']);
  });
});
