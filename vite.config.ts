import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The console: built into client/dist and served by the api role at `/`.
// `npm run dev` serves it with hot reload and proxies the API to a running `npm start`
// (http://localhost:4000, or WEBHOOKS_API_URL), WebSocket subscriptions included.
const api = process.env.WEBHOOKS_API_URL ?? 'http://localhost:4000';

export default defineConfig({
  root: 'client',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    port: 5173,
    proxy: {
      '/graphql': { target: api, ws: true },
      '/orgs': api,
    },
  },
});
