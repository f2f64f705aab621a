import type { Viewer } from '../../shared/session';
import { VIEWER_QUERY } from './queries';

/**
 * Checks a key before keeping it: one plain request (the urql client is built per key, so
 * it does not exist yet). Resolves to the viewer or rejects with a message to show.
 */
export async function verifyApiKey(apiKey: string): Promise<Viewer> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query: VIEWER_QUERY }),
    });
  } catch {
    throw new Error('Cannot reach the server. Check that it is running and try again.');
  }
  let body: { data?: { viewer?: Viewer } | null; errors?: { message: string }[] };
  try {
    body = await response.json();
  } catch {
    throw new Error(`The server answered ${response.status} without GraphQL data; is /graphql served here?`);
  }
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join(' '));
  if (!body.data?.viewer) throw new Error('The server did not return the key’s organization.');
  return body.data.viewer;
}
