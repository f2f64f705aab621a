/**
 * An endpoint's mTLS material (SPEC §3): validation of the client certificate, its key and the CA
 * bundle as they arrive from the API, and what the API shows of stored certificates. Pure:
 * node:crypto only parses PEMs, and the caller passes `nowMs` for the expiry check.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { InputProblem } from './errors.js';

/** Largest PEM accepted for a certificate, a bundle or a key. */
export const PEM_MAX_LENGTH = 64 * 1024;

/** mTLS material; the client certificate and key always come together. */
export interface EndpointTlsSettings {
  clientCertificatePem: string | null;
  clientKeyPem: string | null;
  caCertificatePem: string | null;
}

/** mTLS settings as they arrive from the API: any field may be absent or null. */
export type EndpointTlsInput = { [K in keyof EndpointTlsSettings]?: EndpointTlsSettings[K] | null };

/** Checks and normalises `raw`, adding a problem per field that is wrong. */
export function checkTls(raw: EndpointTlsInput, nowMs: number, problems: InputProblem[]): EndpointTlsSettings {
  const clientCertificatePem = blankToNull(raw.clientCertificatePem);
  const clientKeyPem = blankToNull(raw.clientKeyPem);
  const caCertificatePem = blankToNull(raw.caCertificatePem);
  const tls = { clientCertificatePem, clientKeyPem, caCertificatePem };

  if (!clientCertificatePem && !clientKeyPem && !caCertificatePem) {
    problems.push({
      field: 'tls',
      message: 'tls is empty: give clientCertificatePem with clientKeyPem and/or caCertificatePem, or set tls to null to remove mTLS.',
    });
    return tls;
  }
  if (clientCertificatePem && !clientKeyPem) {
    problems.push({ field: 'tls.clientKeyPem', message: 'tls.clientKeyPem is required with tls.clientCertificatePem: the client certificate is useless without its private key.' });
  }
  if (clientKeyPem && !clientCertificatePem) {
    problems.push({ field: 'tls.clientCertificatePem', message: 'tls.clientCertificatePem is required with tls.clientKeyPem: give the certificate that belongs to the key.' });
  }

  let certificate: X509Certificate | null = null;
  if (clientCertificatePem) {
    const certs = parseCertificates('tls.clientCertificatePem', clientCertificatePem, problems);
    certificate = certs?.[0] ?? null;
    if (certificate && Date.parse(certificate.validTo) <= nowMs) {
      problems.push({
        field: 'tls.clientCertificatePem',
        message: `tls.clientCertificatePem expired on ${new Date(Date.parse(certificate.validTo)).toISOString()}; the endpoint would refuse it. Give a current certificate.`,
      });
    }
  }
  let key: KeyObject | null = null;
  if (clientKeyPem) key = parsePrivateKey(clientKeyPem, problems);
  if (certificate && key && !safeCheckPrivateKey(certificate, key)) {
    problems.push({
      field: 'tls.clientKeyPem',
      message: 'tls.clientKeyPem does not belong to tls.clientCertificatePem: give the private key the certificate was issued for.',
    });
  }
  if (caCertificatePem) parseCertificates('tls.caCertificatePem', caCertificatePem, problems);
  return tls;
}

function blankToNull(value: string | null | undefined): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() + '\n' : null;
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function parseCertificates(field: string, pem: string, problems: InputProblem[]): X509Certificate[] | null {
  if (pem.length > PEM_MAX_LENGTH) {
    problems.push({ field, message: `${field} is larger than ${PEM_MAX_LENGTH / 1024} KiB.` });
    return null;
  }
  const blocks = pem.match(PEM_CERT_RE) ?? [];
  if (blocks.length === 0) {
    problems.push({
      field,
      message: `${field} is not a PEM certificate: paste the whole text from "-----BEGIN CERTIFICATE-----" to "-----END CERTIFICATE-----".`,
    });
    return null;
  }
  const certs: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block));
    } catch {
      const which = blocks.length > 1 ? ` (certificate ${i + 1} of ${blocks.length})` : '';
      problems.push({ field, message: `${field} could not be parsed as an X.509 certificate${which}; check that it was copied whole.` });
      return null;
    }
  }
  return certs;
}

function parsePrivateKey(pem: string, problems: InputProblem[]): KeyObject | null {
  const field = 'tls.clientKeyPem';
  if (pem.length > PEM_MAX_LENGTH) {
    problems.push({ field, message: `${field} is larger than ${PEM_MAX_LENGTH / 1024} KiB.` });
    return null;
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    problems.push({ field, message: `${field} is encrypted with a passphrase; give the unencrypted PEM key (it is stored encrypted at rest).` });
    return null;
  }
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(pem)) {
    problems.push({
      field,
      message: `${field} is not a PEM private key: paste the whole text from "-----BEGIN PRIVATE KEY-----" to "-----END PRIVATE KEY-----".`,
    });
    return null;
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // The parser's own message is not shown: it could quote parts of the key.
    problems.push({ field, message: `${field} could not be parsed as a private key; check that it was copied whole.` });
    return null;
  }
}

function safeCheckPrivateKey(certificate: X509Certificate, key: KeyObject): boolean {
  try {
    return certificate.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/** What the API shows about a stored certificate (never the key). */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  validFrom: Date;
  validTo: Date;
  fingerprintSha256: string;
}

/** Describes each certificate of a PEM bundle; unparseable blocks are skipped. */
export function describeCertificates(pem: string): CertificateInfo[] {
  const out: CertificateInfo[] = [];
  for (const block of pem.match(PEM_CERT_RE) ?? []) {
    try {
      const cert = new X509Certificate(block);
      out.push({
        subject: cert.subject.split('\n').filter(Boolean).join(', '),
        issuer: cert.issuer.split('\n').filter(Boolean).join(', '),
        validFrom: new Date(Date.parse(cert.validFrom)),
        validTo: new Date(Date.parse(cert.validTo)),
        fingerprintSha256: cert.fingerprint256,
      });
    } catch {
      // Stored PEMs were validated on the way in; a block that no longer parses is just not shown.
    }
  }
  return out;
}
