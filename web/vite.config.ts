import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The build lands in dist/, which the meson build embeds into troupe.
// `npm run dev` proxies the API to a troupe serve on 127.0.0.1:8080 (make run).
export default defineConfig({
  plugins: [react()],
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
