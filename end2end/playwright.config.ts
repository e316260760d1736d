import { defineConfig } from '@playwright/test';

// The server is started by scripts/test.sh (fresh database, built binary); tests only drive it.
const baseURL = process.env.BOOKCHAT_URL ?? 'http://127.0.0.1:3000';
// A second server configured with a (fake) language model, for streaming journeys.
const llmURL = process.env.BOOKCHAT_LLM_URL ?? 'http://127.0.0.1:3001';

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: true,
  workers: 2,
  // One retry absorbs a rare scheduling hiccup on a loaded 2-core machine; the report still lists
  // such a test as "flaky", so a real race stays visible (one was found and fixed that way).
  retries: 1,
  reporter: [['list']],
  projects: [
    { name: 'default', testIgnore: /(streaming|docusaurus)\.spec\.ts/ },
    { name: 'llm', testMatch: /streaming\.spec\.ts/, use: { baseURL: llmURL } },
    // A real Docusaurus build with docusaurus-plugin-bookchat (scripts/docusaurus-e2e starts it).
    { name: 'docusaurus', testMatch: /docusaurus\.spec\.ts/, use: { baseURL: process.env.DOCSITE_URL ?? 'http://127.0.0.1:3340' } },
  ],
  use: {
    baseURL,
    testIdAttribute: 'data-testid',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
});
