export { LiveStream } from './LiveStream';
export { LiveAttempts } from './LiveAttempts';
