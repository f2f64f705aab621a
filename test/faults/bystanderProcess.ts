// Child process of the hostile-tenant suite: the bystander organization's traffic (bystander.ts).
import { runBystanderChild } from './bystander.js';

const options = JSON.parse(process.env.BYSTANDER ?? '{}') as { url: string; apiKey: string; eventType: string };
try {
  const bystander = await runBystanderChild(options);
  process.on('message', (message: { measure?: number }) => {
    if (typeof message.measure !== 'number') return;
    bystander.measure(message.measure).then(
      (sample) => process.send!({ sample }),
      (err: Error) => process.send!({ error: err.message }),
    );
  });
  process.send!({ ready: true });
} catch (err) {
  process.send!({ error: (err as Error).message });
}
