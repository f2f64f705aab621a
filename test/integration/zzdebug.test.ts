import { it } from 'vitest';
import { startTestService } from '../helpers/service.js';
it('debug', async () => {
  const s = await startTestService({ LOG_LEVEL: 'error' });
  const c = s.client();
  const r = await c.data(`mutation { createEndpoint(input: {url: "https://hooks.example.invalid/x", patterns: ["webhook.test"]}) { endpoint { id } } }`);
  const id = r.createEndpoint.endpoint.id;
  await s.engine.publisher.publish(s.orgId, [{ type: 'webhook.test', data: {} }]);
  try { await s.services.endpoints.delete({ orgId: s.orgId } as any, id); } catch (e) { console.log('ERR', e); }
  await s.close();
}, 20000);
