import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

/** Where GraphiQL's files are served (the api role's HTTP surface routes this prefix here). */
export const GRAPHIQL_ASSET_PREFIX = '/graphiql/';

const gzipAsync = promisify(gzip);

interface Asset {
  body: Buffer;
  type: string;
  gzipped: Promise<Buffer> | null;
}

interface Bundle {
  /** File name (with its content hash) of each part the page loads. */
  names: { css: string; js: string; boot: string; favicon: string; workers: Record<string, string> };
  assets: Map<string, Asset>;
}

/**
 * The script that starts GraphiQL. A file of its own rather than inline, so a page under a
 * strict Content-Security-Policy (`script-src 'self'`) runs it; its options are read from a JSON
 * block, which is data, not script.
 */
const BOOT_SCRIPT = `(() => {
  const options = JSON.parse(document.getElementById('graphiql-options').textContent);
  const workers = options.workers;
  delete options.workers;
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
})();
`;

/**
 * GraphiQL served from the installed package (@graphql-yoga/render-graphiql), never from a CDN: it
 * works on an air-gapped install. The package's own renderer inlines its 9 MB of script, style,
 * editor workers and icon into every page; here the page is a few hundred bytes and each part a
 * file under /graphiql/ named by its content hash, cached for a year and sent gzipped. The editor
 * workers load from those same-origin URLs. Nothing is loaded before the first GraphiQL page is
 * asked for (the bundle costs ~10 MB of memory), and never on a worker-only process.
 */
export function createGraphiQL(options: { title: string; endpoint: string; subscriptionsProtocol: 'WS' | 'SSE' | 'GRAPHQL_SSE' }) {
  let bundle: Promise<Bundle> | null = null;

  function load(): Promise<Bundle> {
    bundle ??= import('@graphql-yoga/render-graphiql/graphiql').then((parts) => {
      const assets = new Map<string, Asset>();
      const add = (stem: string, ext: string, type: string, body: Buffer): string => {
        const name = `${stem}.${createHash('sha256').update(body).digest('hex').slice(0, 16)}.${ext}`;
        assets.set(name, { body, type, gzipped: null });
        return name;
      };
      const js = 'text/javascript; charset=utf-8';
      const favicon = /^data:([^;]+);base64,(.*)$/s.exec(parts.favicon);
      return {
        assets,
        names: {
          css: add('graphiql', 'css', 'text/css; charset=utf-8', Buffer.from(parts.css)),
          js: add('graphiql', 'js', js, Buffer.from(parts.js)),
          boot: add('boot', 'js', js, Buffer.from(BOOT_SCRIPT)),
          favicon: favicon ? add('favicon', 'ico', favicon[1]!, Buffer.from(favicon[2]!, 'base64')) : '',
          workers: {
            editorWorkerService: add('editor.worker', 'js', js, Buffer.from(parts.editorWorkerService)),
            json: add('json.worker', 'js', js, Buffer.from(parts.jsonWorker)),
            graphql: add('graphql.worker', 'js', js, Buffer.from(parts.graphqlWorker)),
          },
        },
      };
    });
    bundle.catch(() => (bundle = null));
    return bundle;
  }

  return {
    /** The GraphiQL page (yoga's `renderGraphiQL`): references only same-origin files. */
    async page(): Promise<string> {
      const { names } = await load();
      const url = (name: string) => GRAPHIQL_ASSET_PREFIX + name;
      const config = {
        ...options,
        workers: Object.fromEntries(Object.entries(names.workers).map(([label, name]) => [label, url(name)])),
      };
      // `<` escaped so no value can close the JSON block.
      const json = JSON.stringify(config).replace(/</g, '\\u003c');
      return [
        '<!doctype html>',
        '<html lang="en">',
        '<head>',
        '<meta charset="utf-8" />',
        `<title>${escapeHtml(options.title)}</title>`,
        names.favicon ? `<link rel="icon" href="${url(names.favicon)}" />` : '',
        `<link rel="stylesheet" href="${url(names.css)}" />`,
        '</head>',
        '<body id="body" class="no-focus-outline">',
        '<noscript>GraphiQL needs JavaScript.</noscript>',
        '<div id="root"></div>',
        `<script type="application/json" id="graphiql-options">${json}</script>`,
        `<script src="${url(names.js)}"></script>`,
        `<script src="${url(names.boot)}"></script>`,
        '</body>',
        '</html>',
      ].join('\n');
    },

    /** Answers GET/HEAD `/graphiql/<name>`; false when there is no such file. */
    async serveAsset(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
      if (!path.startsWith(GRAPHIQL_ASSET_PREFIX)) return false;
      const asset = (await load()).assets.get(path.slice(GRAPHIQL_ASSET_PREFIX.length));
      if (!asset) return false;
      const acceptsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      // Compressed once, off the event loop (zlib's thread pool), then kept.
      const body = acceptsGzip ? await (asset.gzipped ??= gzipAsync(asset.body, { level: 6 })) : asset.body;
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': body.length,
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
        vary: 'accept-encoding',
        ...(acceptsGzip ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
export type GraphiQL = ReturnType<typeof createGraphiQL>;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
