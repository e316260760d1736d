import AxeBuilder from '@axe-core/playwright';
import { expect, Page, test } from '@playwright/test';
import { ask, openWidget, widgetFrame } from './helpers';

// axe-core (Deque's rules engine, from npm) runs in the page and in the widget's cross-origin
// frame. The bar: no serious or critical violation, in light and dark.
const HOST = process.env.BOOKCHAT_HOST_URL ?? 'http://127.0.0.1:3310';
const PAGE = `${HOST}/docs/ros2/ros2-architecture`;

async function audit(page: Page, what: string) {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n  ')}`);
  expect(bad, `${what}: serious or critical axe violations`).toEqual([]);
  // The widget's frame was audited too, not skipped.
  return result;
}

for (const [scheme, lang] of [['light', 'en'], ['dark', 'en'], ['light', 'ur'], ['dark', 'ur']] as const) {
  test(`axe: the open widget with an answer, its history list and the host page (${scheme}, ${lang})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    if (lang === 'ur') {
      // An Urdu edition of the book: <html lang="ur">.
      await page.addInitScript(() => {
        new MutationObserver((_, o) => {
          if (document.documentElement) { document.documentElement.lang = 'ur'; o.disconnect(); }
        }).observe(document, { childList: true });
      });
    }
    await page.goto(PAGE);
    if (scheme === 'dark') {
      // The demo host is a Docusaurus-like page: its theme toggle drives the widget's theme.
      await page.evaluate(() => document.documentElement.setAttribute('data-theme', 'dark'));
    }
    await page.getByTestId('bookchat-launcher').click();
    const frame = await widgetFrame(page);
    await ask(frame, 'What is ROS 2?');
    await frame.getByTestId('conversation-menu').click();
    await frame.getByTestId('share').click();
    await expect(frame.getByTestId('share-panel')).toBeVisible();
    await expect(frame.locator('.bc-widget')).toHaveAttribute('lang', lang);
    const result = await audit(page, `widget (${scheme}, ${lang})`);
    expect(result.passes.some((p) => p.nodes.some((n) => n.target.length > 1)), 'rules ran inside the widget frame').toBe(true);

    await frame.getByTestId('open-history').click();
    await expect(frame.getByTestId('history-item').first()).toBeVisible();
    await audit(page, `history list (${scheme}, ${lang})`);
  });
}

for (const scheme of ['light', 'dark'] as const) {
  test(`axe: the full-page history, a conversation page and a shared page (${scheme})`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    // The widget on BookChat's own origin shares its session with the full pages.
    const frame = await openWidget(page);
    await ask(frame, 'What is ROS 2?');
    await frame.getByTestId('conversation-menu').click();
    await frame.getByTestId('share').click();
    const shared = await frame.getByTestId('share-url').inputValue();

    for (const lang of ['ur', 'en']) {
      await page.goto(`/conversations?lang=${lang}`);
      await expect(page.locator('main.bc-fullpage')).toHaveAttribute('lang', lang);
      await expect(page.getByTestId('history-item').first()).toBeVisible();
      await audit(page, `full-page history (${scheme}, ${lang})`);
    }

    await page.getByTestId('history-item').first().click();
    await expect(page.getByTestId('msg-assistant')).toHaveCount(1);
    await audit(page, `conversation page (${scheme})`);

    await page.goto(shared);
    await expect(page.getByTestId('shared-answer')).toHaveCount(1);
    await audit(page, `shared page (${scheme})`);
  });
}
