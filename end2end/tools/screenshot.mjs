// Screenshots for the README: node tools/screenshot.mjs [baseURL]. Needs a running server.
import { chromium } from '@playwright/test';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const out = new URL('../../docs/screenshots/', import.meta.url).pathname;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

async function shoot(name, { width, height, dark = false, ask = 'What is the zero moment point?' }) {
  const page = await browser.newPage({ viewport: { width, height }, colorScheme: dark ? 'dark' : 'light' });
  await page.goto(base + '/docs/locomotion/bipedal-walking');
  if (dark) await page.evaluate(() => document.documentElement.setAttribute('data-theme', 'dark'));
  await page.screenshot({ path: out + 'launcher.png' });
  await page.getByTestId('bookchat-launcher').click();
  const frame = page.frameLocator('[data-testid=bookchat-iframe]');
  await frame.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
  if (ask) {
    await frame.getByTestId('composer').fill(ask);
    await frame.getByTestId('composer').press('Enter');
    await frame.getByTestId('msg-assistant').last().waitFor();
  }
  await page.waitForTimeout(300);
  await page.screenshot({ path: out + name });
  await page.close();
}

await shoot('widget-open.png', { width: 1280, height: 800 });
await shoot('widget-dark.png', { width: 1280, height: 800, dark: true, ask: 'How does DDS discovery work?' });
await shoot('widget-mobile.png', { width: 390, height: 800, ask: 'What is an IMU?' });
await browser.close();
console.log('screenshots written to', out);
