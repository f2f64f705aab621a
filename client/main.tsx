import { createRoot } from 'react-dom/client';

function App() {
  return (
    <main style={{ fontFamily: 'system-ui', padding: 24 }}>
      <h1>Org webhooks</h1>
      <p>
        The GraphQL API is at <a href="/graphql">/graphql</a>.
      </p>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
