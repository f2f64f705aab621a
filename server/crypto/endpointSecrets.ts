import { joinUrlSecret, maskHeaderValues, splitUrlSecret } from '../domain/endpointSecrets.js';
import type { SecretBox } from './secretBox.js';

/** The stored columns of an endpoint's secrets (see domain/endpointSecrets.ts). */
export interface SealedEndpointSecrets {
  /** The URL with its query values masked. */
  url: string;
  urlQuerySealed: string | null;
  /** Header names with masked values. */
  headers: Record<string, string>;
  headersSealed: string | null;
}

/** Seals a URL and custom headers for storage. */
export function sealEndpointSecrets(box: SecretBox, url: string, headers: Record<string, string>): SealedEndpointSecrets {
  return { ...sealUrl(box, url), ...sealHeaders(box, headers) };
}

export function sealUrl(box: SecretBox, url: string): Pick<SealedEndpointSecrets, 'url' | 'urlQuerySealed'> {
  const { display, secret } = splitUrlSecret(url);
  return { url: display, urlQuerySealed: secret === null ? null : box.seal(secret) };
}

export function sealHeaders(box: SecretBox, headers: Record<string, string>): Pick<SealedEndpointSecrets, 'headers' | 'headersSealed'> {
  const empty = Object.keys(headers).length === 0;
  return { headers: maskHeaderValues(headers), headersSealed: empty ? null : box.seal(JSON.stringify(headers)) };
}

/**
 * The URL requests go to. A row not sealed yet (written before the upgrade, until the start-up
 * step seals it) holds the URL in clear.
 */
export function openUrl(box: SecretBox, row: { url: string; urlQuerySealed: string | null }): string {
  return row.urlQuerySealed === null ? row.url : joinUrlSecret(row.url, box.openText(row.urlQuerySealed));
}

/** The custom headers requests carry (a row not sealed yet holds them in clear). */
export function openHeaders(box: SecretBox, row: { headers: Record<string, string> | null; headersSealed: string | null }): Record<string, string> {
  return row.headersSealed === null ? (row.headers ?? {}) : (JSON.parse(box.openText(row.headersSealed)) as Record<string, string>);
}
