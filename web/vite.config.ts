import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// index.html preloads the chunk of the page a cold visit opens on (sign in)
// and the chunks it imports, beside the entry: the browser fetches them
// while it compiles the entry, instead of after the entry asks for them.
function preloadPage(page: string): Plugin {
  return {
    name: 'troupe-preload-page',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const chunks = Object.values(ctx.bundle ?? {}).flatMap((c) => (c.type === 'chunk' ? [c] : []));
        const start = chunks.find((c) => c.facadeModuleId?.endsWith(page));
        if (!start) throw new Error(`preloadPage: no chunk for ${page}`);
        const files = new Set<string>();
        const visit = (file: string) => {
          const c = chunks.find((x) => x.fileName === file);
          if (!c || c.isEntry || files.has(file)) return;
          files.add(file);
          c.imports.forEach(visit);
        };
        visit(start.fileName);
        return [...files].map((f) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `/${f}` }, injectTo: 'head' as const }));
      },
    },
  };
}

// The build lands in dist/, which the meson build embeds into troupe.
// `npm run dev` proxies the API to a troupe serve on 127.0.0.1:8080 (make run).
export default defineConfig({
  plugins: [react(), preloadPage('/src/pages/SignIn.tsx')],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
