// Worker-thread entry of the payload validation pool when it runs from TypeScript sources (tests,
// tsx): a worker thread starts without the parent's loader hooks, so tsx is registered here before
// the worker module is loaded. The compiled service (dist/) loads worker.js directly.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./worker.ts');
export default worker.default;
