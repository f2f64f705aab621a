export type SigningAlgorithm = 'HMAC_SHA256' | 'ED25519';

export interface SigningKey {
  id: string;
  algorithm: SigningAlgorithm;
  publicKey: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  usable: boolean;
  endpointId: string | null;
}

const KEY_FIELDS = 'id algorithm publicKey createdAt expiresAt revokedAt usable endpointId';

export const SIGNING_KEYS_QUERY = /* GraphQL */ `
  query SigningKeys($endpointId: ID!) {
    signingKeys(endpointId: $endpointId) { ${KEY_FIELDS} }
    endpoint(id: $endpointId) { id signingAlgorithm }
  }
`;

export const ROTATE_SIGNING_KEY = /* GraphQL */ `
  mutation RotateSigningKey($endpointId: ID!, $algorithm: SigningAlgorithm!, $gracePeriodSeconds: Int!) {
    rotateSigningKey(endpointId: $endpointId, algorithm: $algorithm, gracePeriodSeconds: $gracePeriodSeconds) {
      secret
      signingKey { ${KEY_FIELDS} }
    }
  }
`;

export const REVOKE_SIGNING_KEY = /* GraphQL */ `
  mutation RevokeSigningKey($id: ID!) {
    revokeSigningKey(id: $id) { ${KEY_FIELDS} }
  }
`;
