export { SigningKeysPanel } from './SigningKeysPanel';
