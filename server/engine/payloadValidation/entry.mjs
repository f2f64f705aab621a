// Worker-thread entry of the payload validation pool. The service runs its TypeScript sources
// through tsx; a worker thread starts without the parent's loader hooks when the parent is a test
// runner, so tsx is registered here before the worker module is loaded.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./worker.ts');
export default worker.default;
