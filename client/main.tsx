import { createRoot } from 'react-dom/client';
import { App } from './App';
import './styles.css';

// No <StrictMode>: its double-mounted effects would dispose the graphql-ws client that the
// provider creates per API key, and the console has no legacy APIs to flag.
createRoot(document.getElementById('root')!).render(<App />);
