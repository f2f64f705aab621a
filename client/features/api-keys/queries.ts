export type ApiKeyRole = 'ADMIN' | 'OPERATOR' | 'PUBLISHER' | 'VIEWER';

export interface ApiKey {
  id: string;
  name: string;
  role: ApiKeyRole;
  keyPrefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const FIELDS = 'id name role keyPrefix createdAt lastUsedAt revokedAt';

export const API_KEYS_QUERY = /* GraphQL */ `
  query ApiKeys($first: Int!, $after: String) {
    apiKeys(first: $first, after: $after) {
      edges { node { ${FIELDS} } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const CREATE_API_KEY = /* GraphQL */ `
  mutation CreateApiKey($name: String!, $role: ApiKeyRole!) {
    createApiKey(name: $name, role: $role) { key apiKey { ${FIELDS} } }
  }
`;

export const REVOKE_API_KEY = /* GraphQL */ `
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) { ${FIELDS} }
  }
`;
