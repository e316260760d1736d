// The widget's start on a phone: node tools/phone.mjs [baseURL] [runs]. Needs a running server
// (bench/run.sh phone starts a release one). Chromium is throttled as the phone profile:
// Slow 4G (1.6 Mbps down, 750 kbps up, 150 ms round trip) and a 4x CPU slowdown. Each run is a
// fresh browser context (cold cache): the host page loads, then the launcher is tapped and we time
//   tap -> composer visible   (the server-rendered panel; usable at once, see ui/early.rs)
//   tap -> hydrated           (the WebAssembly has started: body[data-hydrated])
//   tap -> ready              (hydrated and its session established: body[data-ready])
// Prints the median and the worst of each, and the bytes the tap cost.
import { chromium } from '@playwright/test';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const runs = Number(process.argv[3] ?? 5);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

async function once() {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6e6 / 8),
    uploadThroughput: (750e3 / 8),
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  let bytes = 0, counting = false;
  cdp.on('Network.loadingFinished', (e) => { if (counting) bytes += e.encodedDataLength; });
  await page.goto(base + '/', { waitUntil: 'load' });
  const launcher = page.getByTestId('bookchat-launcher');
  await launcher.waitFor();
  await page.waitForTimeout(500);
  counting = true;
  const frame = page.frameLocator('[data-testid=bookchat-iframe]');
  const t0 = Date.now();
  await launcher.tap();
  await frame.getByTestId('composer').waitFor({ state: 'visible', timeout: 60_000 });
  const composer = Date.now() - t0;
  await frame.locator('body[data-hydrated]').waitFor({ state: 'attached', timeout: 60_000 });
  const hydrated = Date.now() - t0;
  await frame.locator('body[data-ready="true"]').waitFor({ state: 'attached', timeout: 60_000 });
  const ready = Date.now() - t0;
  await page.waitForTimeout(200);
  await context.close();
  return { composer, hydrated, ready, bytes };
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (name, key, unit = 'ms') => {
  const xs = results.map((r) => r[key]);
  console.log(`${name.padEnd(26)} median ${String(median(xs)).padStart(7)} ${unit}   worst ${String(Math.max(...xs)).padStart(7)} ${unit}`);
};
console.log(`phone profile (Slow 4G 1.6 Mbps / 150 ms RTT, 4x CPU), ${runs} cold runs`);
row('tap -> composer visible', 'composer');
row('tap -> hydrated', 'hydrated');
row('tap -> ready (session)', 'ready');
row('bytes after the tap', 'bytes', 'B ');
