export { LoginPage } from './LoginPage';
export { SessionGate } from './SessionGate';
